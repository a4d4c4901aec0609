using System.Net;
using System.Text.Json;

namespace TensorServe.FunctionalTests.Serving;

/// <summary>
/// REST predict (spec §1.5, §1.6) against a real server: TF Serving's documented and tested request/response pairs, byte
/// for byte, and every error case that applies to a predict-only servable.
/// </summary>
[Collection(ServingCollection.Name)]
public class RestPredictTests(ServingFixture server)
{
    private const string TwoVersions = "/v1/models/half_plus_two_2_versions";

    [Theory]
    // tensorflow_model_server_test.py, served as `default` there.
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [2.0, 3.0, 4.0]}",
        "{\n    \"predictions\": [3.0, 3.5, 4.0\n    ]\n}")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"inputs\": [2.0, 3.0, 4.0]}",
        "{\n    \"outputs\": [\n        3.0,\n        3.5,\n        4.0\n    ]\n}")]
    // api_rest.md (half_plus_three there: the numbers differ by one).
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [1.0,2.0,5.0]}",
        "{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}")]
    // http_rest_api_handler_test.cc.
    [InlineData(TwoVersions + ":predict", "{\"instances\": [[1.0, 2.0], [3.0, 4.0]]}",
        "{\n    \"predictions\": [[2.5, 3.0], [3.5, 4.0]\n    ]\n}")]
    [InlineData(TwoVersions + "/versions/123:predict", "{\"instances\": [1.0, 2.0]}",
        "{\n    \"predictions\": [2.5, 3.0\n    ]\n}")]
    [InlineData(TwoVersions + "/labels/Version_Label:predict", "{\"instances\": [1.0, 2.0]}",
        "{\n    \"predictions\": [2.5, 3.0\n    ]\n}")]
    [InlineData(TwoVersions + "/versions/123:predict", "{\"signature_name\": \"serving_default\", \"instances\": [3.0, 4.0]}",
        "{\n    \"predictions\": [3.5, 4.0\n    ]\n}")]
    [InlineData(TwoVersions + "/versions/123:predict", "{\"signature_name\": \"serving_default\", \"inputs\": [3.0, 4.0]}",
        "{\n    \"outputs\": [\n        3.5,\n        4.0\n    ]\n}")]
    // Columnar with one named input equals the plain form; a scalar in gives a bare scalar out.
    [InlineData("/v1/models/half_plus_two:predict", "{\"inputs\": {\"x\": [[3.0], [4.0]]}}",
        "{\n    \"outputs\": [\n        [\n            3.5\n        ],\n        [\n            4.0\n        ]\n    ]\n}")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"inputs\": 2.0}", "{\n    \"outputs\": 3.0\n}")]
    // Integer tokens are accepted for floats; NaN and Infinity tokens go in and come out bare.
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [2, 4]}", "{\n    \"predictions\": [3.0, 4.0\n    ]\n}")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [NaN, Infinity, -Infinity]}",
        "{\n    \"predictions\": [NaN, Infinity, -Infinity\n    ]\n}")]
    // %g with 6 digits unless it does not round-trip: 0.5 * 1435774380 + 2 as float.
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [1435774380, 0.1, 1.4e7]}",
        "{\n    \"predictions\": [717887168.0, 2.05, 7000002.0\n    ]\n}")]
    // An empty batch.
    [InlineData("/v1/models/half_plus_two:predict", "{\"inputs\": {\"x\": []}}", "{\n    \"outputs\": []\n}")]
    // Trailing bytes after the root value are ignored (RapidJSON kParseStopWhenDoneFlag).
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [2.0]} trailing garbage",
        "{\n    \"predictions\": [3.0\n    ]\n}")]
    public async Task Predict_MatchesTfServingByteForByte(string path, string request, string expected)
    {
        var reply = await server.PostAsync(path, request);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal(expected, reply.Body);
    }

    [Theory]
    [InlineData("/v1/models/half_plus_two:predict", "", 400, "JSON Parse error: The document is empty")]
    [InlineData("/v1/models/half_plus_two:predict", "instances = [1, 2]", 400, "JSON Parse error: Invalid value. at offset: 0")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [1, 2]", 400,
        "JSON Parse error: Missing a comma or '}' after an object member. at offset: 20")]
    [InlineData("/v1/models/half_plus_two:predict", "[1, 2]", 400, "JSON Value: [1, 2] Is not object")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"signature_name\": 100}", 400,
        "JSON Value: {\n    \"signature_name\": 100\n} not formatted correctly. 'signature_name' key must be a string value.")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"signature_name\": \"nope\", \"instances\": [1.0]}", 400,
        "Serving signature name: \"nope\" not found in signature def")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"foo\": [1.0]}", 400, "Missing 'inputs' or 'instances' key")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": 5}", 400,
        "JSON Value: {\n    \"instances\": 5\n} Expecting 'instances' to be an list/array")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": []}", 400,
        "JSON Value: {\n    \"instances\": []\n} No values in 'instances' array")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [[1.0, 2.0], [3.0]]}", 400,
        "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 1")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"inputs\": [[1.0, 2.0], [3.0]]}", 400,
        "Encountered list at unexpected size: 1 at level: 1 expected size: 2")]
    [InlineData("/v1/models/half_plus_two:predict", "{\"instances\": [{\"x\": 1.0}, 2.0]}", 400,
        "Expecting object but got list at item 1 of input list")]
    [InlineData("/v1/models/foo:predict", "{\"instances\": [1.0]}", 404, "Servable not found for request: Latest(foo)")]
    [InlineData("/v1/models/foo/versions/50:predict", "{\"instances\": [1.0]}", 404,
        "Servable not found for request: Specific(foo, 50)")]
    [InlineData(TwoVersions + "/versions/124:predict", "{\"instances\": [1.0]}", 404,
        "Servable not found for request: Specific(half_plus_two_2_versions, 124)")]
    [InlineData(TwoVersions + "/labels/Version_Nonexistent:predict", "{\"instances\": [1.0]}", 400,
        "Unrecognized servable version label: Version_Nonexistent")]
    [InlineData("/v1/models/half_plus_two_2_versions99:predict", "{\"instances\": [1.0]}", 404,
        "Servable not found for request: Latest(half_plus_two_2_versions99)")]
    [InlineData("/v1/models/multi:predict", "{\"instances\": [1.0]}", 400,
        "instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map")]
    [InlineData("/v1/models/multi:predict", "{\"inputs\": [1.0]}", 400,
        "inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map")]
    [InlineData("/v1/models/multi:predict", "{\"inputs\": {\"f\": [[1.0, 2.0]], \"i\": [1], \"s\": [\"a\"]}}", 400,
        "Missing named input: b in 'inputs' object.")]
    [InlineData("/v1/models/multi:predict", "{\"inputs\": {\"f\": [[1.0, 2.0]], \"i\": [1.5], \"s\": [\"a\"], \"b\": [true]}}", 400,
        "JSON Value: 1.5 Type: Number is not of expected type: int64")]
    [InlineData("/v1/models/multi:predict", "{\"inputs\": {\"f\": [[1.0, 2.0]], \"i\": [1], \"s\": [\"a\"], \"b\": [1]}}", 400,
        "JSON Value: 1 Type: Number is not of expected type: bool")]
    [InlineData("/v1/models/multi:predict", "{\"inputs\": {\"f\": [[1.0, 2.0]], \"i\": [1], \"s\": [{\"b64\": \"!!\"}], \"b\": [true]}}", 400,
        "Unable to base64 decode")]
    public async Task Predict_Errors_HaveTfServingsStatusAndMessage(string path, string request, int status, string message)
    {
        var reply = await server.PostAsync(path, request);

        Assert.Equal((HttpStatusCode)status, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal(RestReply.ErrorBody(message), reply.Body);
    }

    [Fact]
    public async Task Predict_StringForFloatModel_IsATypeError()
    {
        // http_rest_api_handler_test.cc checks only for this fragment.
        var reply = await server.PostAsync(TwoVersions + ":predict", "{ \"instances\": [\"x\", \"y\"] }");

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains("JSON Value: \\\"x\\\" Type: String is not of expected type: float", reply.Body);
    }

    [Fact]
    public async Task Predict_MultipleInputsAndDtypes_RowFormat_RoundTrips()
    {
        const string request = """
            {"instances": [
              {"f": [1.5, 2], "i": 7, "s": "hello", "b": true},
              {"f": [3, -4.25], "i": -9000000000, "s": {"b64": "d29ybGQ="}, "b": false}
            ]}
            """;
        var reply = await server.PostAsync("/v1/models/multi:predict", request);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        using var doc = JsonDocument.Parse(reply.Body);
        var rows = doc.RootElement.GetProperty("predictions").EnumerateArray().ToArray();
        Assert.Equal(2, rows.Length);
        Assert.Equal([1.5, 2.0], rows[0].GetProperty("f_out").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(7, rows[0].GetProperty("i_out").GetInt64());
        Assert.Equal("hello", rows[0].GetProperty("s_out").GetString());
        Assert.True(rows[0].GetProperty("b_out").GetBoolean());
        Assert.Equal([3.0, -4.25], rows[1].GetProperty("f_out").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(-9000000000, rows[1].GetProperty("i_out").GetInt64());
        Assert.Equal("world", rows[1].GetProperty("s_out").GetString());
        Assert.False(rows[1].GetProperty("b_out").GetBoolean());
        // Within a row item, arrays stay on one line (kFormatSingleLineArray).
        Assert.Contains("\"f_out\": [1.5, 2.0]", reply.Body);
    }

    [Fact]
    public async Task Predict_MultipleInputs_ColumnarFormat_ReturnsAnOutputsObject()
    {
        const string request = """{"inputs": {"f": [[1, 2], [3, 4]], "i": [5], "s": ["a", "b", "c"], "b": [false, true], "extra": 1}}""";
        var reply = await server.PostAsync("/v1/models/multi:predict", request);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        using var doc = JsonDocument.Parse(reply.Body);
        var outputs = doc.RootElement.GetProperty("outputs");
        Assert.Equal("[[1.0,2.0],[3.0,4.0]]", JsonSerializer.Serialize(outputs.GetProperty("f_out")).Replace(".0", ".0"));
        Assert.Equal([5L], outputs.GetProperty("i_out").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(["a", "b", "c"], outputs.GetProperty("s_out").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([false, true], outputs.GetProperty("b_out").EnumerateArray().Select(e => e.GetBoolean()));
    }

    [Fact]
    public async Task Predict_Cifar10_ReturnsOneProbabilityRowPerImage()
    {
        var images = Enumerable.Range(0, 2).Select(n => Cifar10.Image(seed: n)).ToArray();
        var request = "{\"instances\": " + JsonSerializer.Serialize(images) + "}";

        var reply = await server.PostAsync("/v1/models/cifar10:predict", request);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        using var doc = JsonDocument.Parse(reply.Body);
        var rows = doc.RootElement.GetProperty("predictions").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        Assert.Equal(2, rows.Length);
        Assert.All(rows, row =>
        {
            Assert.Equal(10, row.Length);
            Assert.All(row, p => Assert.InRange(p, 0f, 1f));
            Assert.InRange(row.Sum(), 0.999f, 1.001f);
        });
        Assert.NotEqual(rows[0], rows[1]);
    }

    [Fact]
    public async Task Predict_WrongShapeForCifar10_IsAClearInvalidArgument()
    {
        var reply = await server.PostAsync("/v1/models/cifar10:predict", "{\"instances\": [[1.0, 2.0]]}");

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        using var doc = JsonDocument.Parse(reply.Body);
        Assert.Contains("images", doc.RootElement.GetProperty("error").GetString());
    }
}

/// <summary>Deterministic CIFAR-10-shaped inputs ([32][32][3] floats in [0, 1)).</summary>
internal static class Cifar10
{
    public static float[][][] Image(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, 32).Select(_ => Enumerable.Range(0, 32)
            .Select(_ => Enumerable.Range(0, 3).Select(_ => (float)Math.Round(random.NextDouble(), 3)).ToArray())
            .ToArray()).ToArray();
    }
}
