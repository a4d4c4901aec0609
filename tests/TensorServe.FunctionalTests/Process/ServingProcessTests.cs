using System.Net;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Net.Client;
using Tensorflow;
using Tensorflow.Serving;

namespace TensorServe.FunctionalTests.Process;

/// <summary>
/// <c>tensorserve</c> started as a process with TF Serving's flags and talked to over loopback: single-model flags,
/// <c>--model_config_file</c>, REST disabled, unknown flags (spec §1, §2.1, §3, §4).
/// </summary>
public sealed class ServingProcessTests : IClassFixture<DemoModelsFixture>
{
    private readonly DemoModelsDirectory _models;

    public ServingProcessTests(DemoModelsFixture models) => _models = models.Directory;

    [Fact]
    public async Task SingleModelFlags_RestStatusAvailableAndListeningLines()
    {
        await using var server = await ServerProcess.StartAsync("--model_name=half_plus_two",
            $"--model_base_path={_models.HalfPlusTwo}");
        using var http = new HttpClient { BaseAddress = server.RestBaseAddress };

        using var response = await http.GetAsync(new Uri("/v1/models/half_plus_two", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""
            {
             "model_version_status": [
              {
               "version": "1",
               "state": "AVAILABLE",
               "status": {
                "error_code": "OK",
                "error_message": ""
               }
              }
             ]
            }

            """.ReplaceLineEndings("\n"), body);
        var log = server.StandardOutput + server.StandardError;
        Assert.Contains($"Running gRPC ModelServer at 0.0.0.0:{server.GrpcPort} ...", log, StringComparison.Ordinal);
        Assert.Contains($"Exporting HTTP/REST API at:localhost:{server.RestPort} ...", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SingleModelFlags_GrpcPredictHalfPlusTwo()
    {
        await using var server = await ServerProcess.StartAsync("--model_name=half_plus_two",
            $"--model_base_path={_models.HalfPlusTwo}");
        using var channel = GrpcChannel.ForAddress($"http://{server.GrpcAddress}");
        var prediction = new PredictionService.PredictionServiceClient(channel);

        var response = await prediction.PredictAsync(PredictRequest("half_plus_two", "x", [3], [1f, 2f, 5f]),
            deadline: DateTime.UtcNow.AddSeconds(20));

        Assert.Equal("half_plus_two", response.ModelSpec.Name);
        Assert.Equal(1, response.ModelSpec.Version);
        var y = response.Outputs["y"];
        Assert.Equal(DataType.DtFloat, y.Dtype);
        Assert.Equal([3L], y.TensorShape.Dim.Select(d => d.Size));
        Assert.Equal([2.5f, 3f, 4.5f], FloatValues(y));
    }

    [Fact]
    public async Task ModelBasePathWithoutName_ServedAsDefault()
    {
        // --model_name defaults to "default", as in TF Serving (and its Docker image passes --model_name explicitly).
        await using var server = await ServerProcess.StartAsync($"--model_base_path={_models.HalfPlusTwo}");
        using var http = new HttpClient { BaseAddress = server.RestBaseAddress };

        var status = await GetJsonAsync(http, "/v1/models/default");
        var missing = await http.GetAsync(new Uri("/v1/models/half_plus_two", UriKind.Relative));

        Assert.Equal("AVAILABLE", status.GetProperty("model_version_status")[0].GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task RestApiPortZero_NoRestListenerWhileGrpcServes()
    {
        await using var server = await ServerProcess.StartAsync("--model_name=half_plus_two",
            $"--model_base_path={_models.HalfPlusTwo}", "--rest_api_port=0");
        using var channel = GrpcChannel.ForAddress($"http://{server.GrpcAddress}");
        var models = new ModelService.ModelServiceClient(channel);

        var status = await models.GetModelStatusAsync(
            new GetModelStatusRequest { ModelSpec = new ModelSpec { Name = "half_plus_two" } },
            deadline: DateTime.UtcNow.AddSeconds(20));

        Assert.Equal(ModelVersionStatus.Types.State.Available, Assert.Single(status.ModelVersionStatus).State);
        Assert.DoesNotContain("Exporting HTTP/REST API", server.StandardOutput + server.StandardError, StringComparison.Ordinal);
        // The only TCP listener is the HTTP/2-only gRPC port: an HTTP/1.1 REST call there is refused, not answered.
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.GrpcAddress}"), Timeout = TimeSpan.FromSeconds(20) };
        using var rest = await http.GetAsync(new Uri("/v1/models/half_plus_two", UriKind.Relative));
        var body = await rest.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, rest.StatusCode);
        Assert.DoesNotContain("model_version_status", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelConfigFile_ServesBothDemoModels()
    {
        await using var server = await ServerProcess.StartAsync($"--model_config_file={_models.ModelsConfig}");
        using var http = new HttpClient { BaseAddress = server.RestBaseAddress };
        using var channel = GrpcChannel.ForAddress($"http://{server.GrpcAddress}");
        var prediction = new PredictionService.PredictionServiceClient(channel);

        foreach (var name in new[] { "half_plus_two", "cifar10" })
        {
            var status = await GetJsonAsync(http, $"/v1/models/{name}");
            var row = Assert.Single(status.GetProperty("model_version_status").EnumerateArray());
            Assert.Equal("1", row.GetProperty("version").GetString());
            Assert.Equal("AVAILABLE", row.GetProperty("state").GetString());
        }

        var metadata = await GetJsonAsync(http, "/v1/models/cifar10/metadata");
        var signature = metadata.GetProperty("metadata").GetProperty("signature_def").GetProperty("signature_def")
            .GetProperty("serving_default");
        Assert.Equal(["images"], signature.GetProperty("inputs").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["probabilities"], signature.GetProperty("outputs").EnumerateObject().Select(p => p.Name));

        var pixels = new float[2 * 32 * 32 * 3];
        var random = new Random(7);
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)random.NextDouble();
        }
        var response = await prediction.PredictAsync(PredictRequest("cifar10", "images", [2, 32, 32, 3], pixels),
            deadline: DateTime.UtcNow.AddSeconds(20));
        var probabilities = response.Outputs["probabilities"];
        Assert.Equal([2L, 10L], probabilities.TensorShape.Dim.Select(d => d.Size));
        var values = FloatValues(probabilities);
        for (var row = 0; row < 2; row++)
        {
            var sum = values.Skip(row * 10).Take(10).Sum();
            Assert.InRange(sum, 0.999f, 1.001f);
        }
    }

    [Fact]
    public async Task UnknownFlagWithValidModel_ReportedAndServerKeepsRunning()
    {
        await using var server = await ServerProcess.StartAsync("--no_such_flag=1", "--model_name=half_plus_two",
            $"--model_base_path={_models.HalfPlusTwo}");
        using var http = new HttpClient { BaseAddress = server.RestBaseAddress };

        var status = await GetJsonAsync(http, "/v1/models/half_plus_two");

        Assert.StartsWith("unknown argument: --no_such_flag=1\nusage: ", server.StandardOutput, StringComparison.Ordinal);
        Assert.Equal("AVAILABLE", status.GetProperty("model_version_status")[0].GetProperty("state").GetString());
    }

    private static PredictRequest PredictRequest(string model, string input, long[] shape, float[] values)
    {
        var tensor = new TensorProto
        {
            Dtype = DataType.DtFloat,
            TensorShape = new TensorShapeProto(),
            TensorContent = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())),
        };
        foreach (var size in shape)
        {
            tensor.TensorShape.Dim.Add(new TensorShapeProto.Types.Dim { Size = size });
        }
        var request = new PredictRequest { ModelSpec = new ModelSpec { Name = model } };
        request.Inputs.Add(input, tensor);
        return request;
    }

    /// <summary>Float values from <c>tensor_content</c> (little-endian) or <c>float_val</c>, whichever the server used.</summary>
    private static float[] FloatValues(TensorProto tensor) =>
        tensor.TensorContent.IsEmpty
            ? tensor.FloatVal.ToArray()
            : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.TensorContent.Span).ToArray();

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
