using System.Text.Json;
using TensorServe.Backends.Onnx;
using TensorServe.Models;
using TensorServe.Tensors;

namespace TensorServe.FunctionalTests.PythonClients;

/// <summary>
/// The <c>tensorserve</c> process driven by Python clients written the way TF Serving users write them: gRPC on stubs
/// that <c>protoc</c> generates from the repository's .proto files, REST with <c>requests</c>, inputs from <c>.npy</c>.
/// </summary>
public sealed class PythonClientTests : IClassFixture<PythonClientFixture>
{
    private const float Tolerance = 1e-6f;
    private const int Images = 3;

    private readonly PythonClientFixture _fixture;

    public PythonClientTests(PythonClientFixture fixture) => _fixture = fixture;

    [PythonClientFact]
    public async Task GrpcClient_HalfPlusTwo_ValuesSpecSignatureStatusAndUnknownModelError()
    {
        var result = await RunGrpcClientAsync("half_plus_two", "x", "y", HalfPlusTwoInput());

        Assert.Equal("float_val", result.GetProperty("output_encoding").GetString());
        Assert.Equal([2.5f, 3f, 4.5f], Floats(result, "values"));
        Assert.Equal([2.5f, 3f, 4.5f], Floats(result, "values_typed"));
        Assert.Equal([3], Ints(result, "shape"));
        var spec = result.GetProperty("model_spec");
        Assert.Equal("half_plus_two", spec.GetProperty("name").GetString());
        Assert.Equal(1, spec.GetProperty("version").GetInt64());
        Assert.Equal("serving_default", spec.GetProperty("signature_name").GetString());
        Assert.Equal(["x"], Strings(result, "signature_inputs"));
        Assert.Equal(["y"], Strings(result, "signature_outputs"));
        var status = Assert.Single(result.GetProperty("status").EnumerateArray());
        Assert.Equal(1, status.GetProperty("version").GetInt64());
        Assert.Equal("AVAILABLE", status.GetProperty("state").GetString());
        var error = result.GetProperty("unknown_model_error");
        Assert.Equal("NOT_FOUND", error.GetProperty("code").GetString());
        Assert.Equal("Servable not found for request: Latest(no_such_model)", error.GetProperty("details").GetString());
    }

    [PythonClientFact]
    public async Task GrpcClient_Cifar10_ProbabilitiesMatchInProcessOnnxRuntime()
    {
        var pixels = Cifar10Pixels();

        var result = await RunGrpcClientAsync("cifar10", "images", "probabilities",
            _fixture.WriteInput("cifar10_grpc", [Images, 32, 32, 3], pixels));

        Assert.Equal([Images, 10], Ints(result, "shape"));
        Assert.Equal(["images"], Strings(result, "signature_inputs"));
        Assert.Equal(["probabilities"], Strings(result, "signature_outputs"));
        // The client sends the same images once as tensor_content and once as float_val.
        var fromContentInput = Floats(result, "values");
        var fromFloatValInput = Floats(result, "values_typed");
        AssertProbabilityRows(fromContentInput);
        AssertClose(fromContentInput, fromFloatValInput);
        AssertClose(InProcessCifar10(pixels), fromContentInput);
    }

    [PythonClientFact]
    public async Task GrpcClient_SerializationAsTensorContent_DecodedLikeMakeNdarray()
    {
        PythonClientEnvironment.EnsureAvailable();
        var pixels = Cifar10Pixels();
        var input = _fixture.WriteInput("cifar10_tensor_content", [Images, 32, 32, 3], pixels);
        await using var server = await Process.ServerProcess.StartAsync(
            $"--model_config_file={_fixture.Models.ModelsConfig}", "--enable_serialization_as_tensor_content=true");

        var result = await _fixture.RunClientAsync("grpc_client.py", _fixture.StubsDirectory, server.GrpcAddress,
            "cifar10", "images", "probabilities", input);

        Assert.Equal("tensor_content", result.GetProperty("output_encoding").GetString());
        Assert.Equal([Images, 10], Ints(result, "shape"));
        AssertClose(InProcessCifar10(pixels), Floats(result, "values"));
        AssertClose(Floats(result, "values"), Floats(result, "values_typed"));
    }

    [PythonClientFact]
    public async Task RestClient_StatusMetadataAndUnknownModelError()
    {
        foreach (var (model, input, output) in new[] { ("half_plus_two", "x", "y"), ("cifar10", "images", "probabilities") })
        {
            var result = await RunRestClientAsync(model, HalfPlusTwoInput());

            Assert.Equal(["1"], Strings(result, "available_versions"));
            Assert.Equal(model, result.GetProperty("metadata_model_spec").GetProperty("name").GetString());
            Assert.Equal("1", result.GetProperty("metadata_model_spec").GetProperty("version").GetString());
            Assert.Equal([input], Strings(result, "signature_inputs"));
            Assert.Equal([output], Strings(result, "signature_outputs"));
            Assert.Equal(404, result.GetProperty("unknown_model_status_code").GetInt32());
            Assert.Equal("Servable not found for request: Latest(no_such_model)",
                result.GetProperty("unknown_model_error").GetString());
        }
    }

    [PythonClientFact]
    public async Task RestClient_HalfPlusTwo_Predictions()
    {
        var result = await RunRestClientAsync("half_plus_two", HalfPlusTwoInput());

        AssertPredictOk(result);
        Assert.Equal([2.5f, 3f, 4.5f], Floats(result, "predictions"));
        Assert.Equal([3], Ints(result, "shape"));
        Assert.StartsWith("application/json", result.GetProperty("content_type").GetString(), StringComparison.Ordinal);
    }

    [PythonClientFact]
    public async Task RestClient_Cifar10_PredictionsMatchGrpcClient()
    {
        var input = _fixture.WriteInput("cifar10_rest", [Images, 32, 32, 3], Cifar10Pixels());

        var rest = await RunRestClientAsync("cifar10", input);
        var grpc = await RunGrpcClientAsync("cifar10", "images", "probabilities", input);

        AssertPredictOk(rest);
        Assert.Equal([Images, 10], Ints(rest, "shape"));
        var predictions = Floats(rest, "predictions");
        AssertProbabilityRows(predictions);
        AssertClose(Floats(grpc, "values"), predictions);
    }

    private string HalfPlusTwoInput() => _fixture.WriteInput("half_plus_two", [3], [1f, 2f, 5f]);

    private Task<JsonElement> RunGrpcClientAsync(string model, string input, string output, string npy) =>
        _fixture.RunClientAsync("grpc_client.py", _fixture.StubsDirectory, _fixture.Server.GrpcAddress, model, input, output, npy);

    private Task<JsonElement> RunRestClientAsync(string model, string npy) =>
        _fixture.RunClientAsync("rest_client.py", _fixture.Server.RestBaseAddress.ToString().TrimEnd('/'), model, npy);

    /// <summary>Deterministic pixels in [0, 1), NHWC, as a Keras CIFAR-10 pipeline feeds them.</summary>
    private static float[] Cifar10Pixels()
    {
        var random = new Random(20240611);
        var pixels = new float[Images * 32 * 32 * 3];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)random.NextDouble();
        }
        return pixels;
    }

    /// <summary>The same model run in this process through the ONNX backend, without any transport.</summary>
    private float[] InProcessCifar10(float[] pixels)
    {
        using var servable = new OnnxServableLoader().Load(Path.Combine(_fixture.Models.Cifar10, "1"), CancellationToken.None);
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];
        using var images = Tensor.FromValues<float>(DataType.Float, [Images, 32, 32, 3], pixels);
        var outputs = servable.Run(signature, [images], [signature.IndexOfOutput("probabilities")], CancellationToken.None);
        try
        {
            return outputs[0].AsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var tensor in outputs)
            {
                tensor.Dispose();
            }
        }
    }

    private static void AssertPredictOk(JsonElement result) =>
        Assert.True(result.GetProperty("predict_status_code").GetInt32() == 200,
            $"predict answered {result.GetProperty("predict_status_code").GetInt32()}: " +
            (result.TryGetProperty("predict_error", out var error) ? error.GetString() : ""));

    private static void AssertProbabilityRows(float[] values)
    {
        Assert.Equal(Images * 10, values.Length);
        for (var row = 0; row < Images; row++)
        {
            var probabilities = values.AsSpan(row * 10, 10).ToArray();
            Assert.All(probabilities, p => Assert.InRange(p, 0f, 1f));
            Assert.InRange(probabilities.Sum(), 0.999f, 1.001f);
        }
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }

    private static float[] Floats(JsonElement result, string name) =>
        result.GetProperty(name).EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    private static int[] Ints(JsonElement result, string name) =>
        result.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static string[] Strings(JsonElement result, string name) =>
        result.GetProperty(name).EnumerateArray().Select(v => v.GetString() ?? "").ToArray();
}
