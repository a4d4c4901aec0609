using System.Net;
using System.Text.Json;

namespace TensorServe.FunctionalTests.Serving;

/// <summary>REST model status and metadata (spec §2) against a real server.</summary>
[Collection(ServingCollection.Name)]
public class RestStatusMetadataTests(ServingFixture server)
{
    private static string StatusBody(params (string Version, string State, string Code, string Message)[] entries)
    {
        var items = entries.Select(e =>
            "  {\n   \"version\": \"" + e.Version + "\",\n   \"state\": \"" + e.State + "\",\n   \"status\": {\n" +
            "    \"error_code\": \"" + e.Code + "\",\n    \"error_message\": \"" + e.Message + "\"\n   }\n  }");
        return "{\n \"model_version_status\": [\n" + string.Join(",\n", items) + "\n ]\n}\n";
    }

    [Fact]
    public async Task Status_LoadedModel_IsTfServingsExactBytes()
    {
        var reply = await server.GetAsync("/v1/models/half_plus_two");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal(StatusBody(("1", "AVAILABLE", "OK", "")), reply.Body);
    }

    [Theory]
    [InlineData("/v1/models/half_plus_two_2_versions")]
    [InlineData("/v1/models/half_plus_two_2_versions/versions/123")]
    [InlineData("/v1/models/half_plus_two_2_versions/labels/Version_Label")]
    [InlineData("/v1/models/half_plus_two_2_versions/labels/no_such_label")] // labels are ignored by status (§1.2)
    [InlineData("/V1/MODELS/half_plus_two_2_versions/VERSIONS/123")]
    public async Task Status_SpecificPolicy_ListsOnlyTheServedVersion(string path)
    {
        var reply = await server.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(StatusBody(("123", "AVAILABLE", "OK", "")), reply.Body);
    }

    [Fact]
    public async Task Status_VersionThatFailedToLoad_IsEndWithTheLoadError_NewestFirst()
    {
        var reply = await server.GetAsync("/v1/models/mixed_health");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        using var doc = JsonDocument.Parse(reply.Body);
        var statuses = doc.RootElement.GetProperty("model_version_status").EnumerateArray().ToArray();
        Assert.Equal(["2", "1"], statuses.Select(s => s.GetProperty("version").GetString()));
        Assert.Equal("AVAILABLE", statuses[0].GetProperty("state").GetString());
        Assert.Equal("END", statuses[1].GetProperty("state").GetString());
        var status = statuses[1].GetProperty("status");
        Assert.Equal("UNIMPLEMENTED", status.GetProperty("error_code").GetString());
        var message = status.GetProperty("error_message").GetString();
        Assert.StartsWith($"Failed to load ONNX model {server.BrokenModelPath}: Output 'zipped' is of type ONNX_TYPE_SEQUENCE",
            message);
        Assert.Contains("ZipMap", message);
    }

    [Theory]
    [InlineData("/v1/models/foo", 404, "Could not find any versions of model foo")]
    [InlineData("/v1/models/half_plus_two/versions/7", 404, "Could not find version 7 of model half_plus_two")]
    [InlineData("/v1/models/half_plus_two?foo=1", 404, "Could not find any versions of model half_plus_two?foo=1")]
    [InlineData("/v1/models", 400, "Missing model name in request.")]
    [InlineData("/v1/models/", 400, "Malformed request: GET /v1/models/")]
    [InlineData("/v1/foo", 400, "Malformed request: GET /v1/foo")]
    [InlineData("/v1/models/foo:predict", 400, "Malformed request: GET /v1/models/foo:predict")]
    [InlineData("/v1/models/half_plus_two/versions/18446744073709551615", 400,
        "Failed to convert version: 18446744073709551615 to numeric.")]
    public async Task Status_Errors_HaveTfServingsStatusAndMessage(string path, int status, string message)
    {
        var reply = await server.GetAsync(path);

        Assert.Equal((HttpStatusCode)status, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal(RestReply.ErrorBody(message), reply.Body);
    }

    [Fact]
    public async Task Metadata_HalfPlusTwo_DescribesTheServingDefaultSignature()
    {
        var reply = await server.GetAsync("/v1/models/half_plus_two/metadata");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.StartsWith("{\n\"model_spec\":", reply.Body);
        using var doc = JsonDocument.Parse(reply.Body);
        var spec = doc.RootElement.GetProperty("model_spec");
        Assert.Equal("half_plus_two", spec.GetProperty("name").GetString());
        Assert.Equal("1", spec.GetProperty("version").GetString());
        Assert.Equal("", spec.GetProperty("signature_name").GetString());
        var signatures = doc.RootElement.GetProperty("metadata").GetProperty("signature_def").GetProperty("signature_def");
        var serving = signatures.GetProperty("serving_default");
        Assert.Equal("tensorflow/serving/predict", serving.GetProperty("method_name").GetString());
        var x = serving.GetProperty("inputs").GetProperty("x");
        Assert.Equal("DT_FLOAT", x.GetProperty("dtype").GetString());
        Assert.Equal("x", x.GetProperty("name").GetString());
        // half_plus_two's input has no shape at all in the ONNX graph: unknown rank, as TF prints it.
        Assert.True(x.GetProperty("tensor_shape").GetProperty("unknown_rank").GetBoolean());
        Assert.Equal("DT_FLOAT", serving.GetProperty("outputs").GetProperty("y").GetProperty("dtype").GetString());
    }

    [Fact]
    public async Task Metadata_Cifar10_HasDynamicBatchAsMinusOneStrings()
    {
        var reply = await server.GetAsync("/v1/models/cifar10/versions/1/metadata");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        using var doc = JsonDocument.Parse(reply.Body);
        var serving = doc.RootElement.GetProperty("metadata").GetProperty("signature_def").GetProperty("signature_def")
            .GetProperty("serving_default");
        static string[] Dims(JsonElement info) => info.GetProperty("tensor_shape").GetProperty("dim").EnumerateArray()
            .Select(d => d.GetProperty("size").GetString()!).ToArray();
        Assert.Equal(["-1", "32", "32", "3"], Dims(serving.GetProperty("inputs").GetProperty("images")));
        Assert.Equal(["-1", "10"], Dims(serving.GetProperty("outputs").GetProperty("probabilities")));
    }

    [Fact]
    public async Task Metadata_ByLabel_ResolvesTheLabelledVersion()
    {
        var reply = await server.GetAsync("/v1/models/half_plus_two_2_versions/labels/Version_Label/metadata");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        using var doc = JsonDocument.Parse(reply.Body);
        Assert.Equal("123", doc.RootElement.GetProperty("model_spec").GetProperty("version").GetString());
    }

    [Theory]
    [InlineData("/v1/models/foo/metadata", 404, "Servable not found for request: Latest(foo)")]
    [InlineData("/v1/models/half_plus_two_2_versions/versions/124/metadata", 404,
        "Servable not found for request: Specific(half_plus_two_2_versions, 124)")]
    [InlineData("/v1/models/half_plus_two_2_versions/labels/nope/metadata", 400,
        "Unrecognized servable version label: nope")]
    public async Task Metadata_Errors_HaveTfServingsStatusAndMessage(string path, int status, string message)
    {
        var reply = await server.GetAsync(path);

        Assert.Equal((HttpStatusCode)status, reply.Status);
        Assert.Equal(RestReply.ErrorBody(message), reply.Body);
    }
}
