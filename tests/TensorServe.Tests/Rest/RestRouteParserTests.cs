using TensorServe.Rest;

namespace TensorServe.Tests.Rest;

public class RestRouteParserTests
{
    [Theory]
    [InlineData("GET", "/v1/foo")]
    [InlineData("POST", "/v1/foo")]
    [InlineData("POST", "/v1/models")]
    [InlineData("GET", "/v1/models/debug/model_name")]
    [InlineData("GET", "/v1/models/foo:predict")]
    [InlineData("GET", "/v1/models/foo/version/50:predict")]
    [InlineData("POST", "/v1/models/foo/version/50:regress")]
    [InlineData("POST", "/v1/models/foo/versions/HELLO:regress")]
    [InlineData("POST", "/v1/models/foo/metadata")]
    [InlineData("POST", "/v1/models/foo/label/some_label:regress")]
    [InlineData("POST", "/v1/models/foo/versions/50/labels/some_label:regress")]
    [InlineData("POST", "/v1/models/foo/versions/some_label:regress")]
    [InlineData("POST", "/v1/models/x:predict?foo=1")]
    [InlineData("POST", "/v1/models/x:Predict")]
    [InlineData("GET", "/v1/models/")]
    [InlineData("PUT", "/v1/models/x")]
    [InlineData("DELETE", "/v1/models/x")]
    [InlineData("GET", "/v1/models/foo/versions/-1")]
    public void Parse_TargetOutsideGrammar_IsMalformed(string method, string target)
    {
        var ex = Assert.Throws<ServingException>(() => RestRouteParser.Parse(method, target));
        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Equal($"Malformed request: {method} {target}", ex.Message);
    }

    [Fact]
    public void Parse_ModelsWithoutName_MissingModelName()
    {
        var ex = Assert.Throws<ServingException>(() => RestRouteParser.Parse("GET", "/v1/models"));
        Assert.Equal("Missing model name in request.", ex.Message);
    }

    [Theory]
    [InlineData("POST", "/v1/models/m:predict", RestRouteKind.Predict, "m", null, null)]
    [InlineData("POST", "/v1/models/m/versions/007:classify", RestRouteKind.Classify, "m", 7L, null)]
    [InlineData("POST", "/v1/models/m/labels/stable:regress", RestRouteKind.Regress, "m", null, "stable")]
    [InlineData("POST", "/V1/MODELS/m/VERSIONS/1:predict", RestRouteKind.Predict, "m", 1L, null)]
    [InlineData("GET", "/v1/models/m", RestRouteKind.Status, "m", null, null)]
    [InlineData("GET", "/v1/models/m/versions/123", RestRouteKind.Status, "m", 123L, null)]
    [InlineData("GET", "/v1/models/m/labels/anything", RestRouteKind.Status, "m", null, "anything")]
    [InlineData("GET", "/v1/models/m/metadata", RestRouteKind.Metadata, "m", null, null)]
    [InlineData("GET", "/v1/models/m/versions/5/metadata", RestRouteKind.Metadata, "m", 5L, null)]
    [InlineData("GET", "/v1/models/m/METADATA", RestRouteKind.Status, "m", null, null)]
    [InlineData("GET", "/v1/models/x?foo=1", RestRouteKind.Status, "x?foo=1", null, null)]
    [InlineData("GET", "/v1/models/Model", RestRouteKind.Status, "Model", null, null)]
    public void Parse_ValidTarget_Route(string method, string target, RestRouteKind kind, string name, long? version, string? label)
    {
        var route = RestRouteParser.Parse(method, target);
        Assert.Equal(new RestRoute(kind, name, version, label), route);
    }

    [Fact]
    public void Parse_PercentEncodedName_DecodedLikeCurl()
    {
        var route = RestRouteParser.Parse("GET",
            "/v1/models/modelname%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D");
        Assert.Equal("modelname!#$%&'()*+,/:;=?@[]", route.ModelName);
    }

    [Theory]
    [InlineData("a+b", "a+b")]
    [InlineData("a%2", "a%2")]
    [InlineData("a%zz", "a%zz")]
    [InlineData("%C3%A9t%C3%A9", "été")]
    public void PercentDecode_EdgeCases_MatchCurl(string encoded, string decoded) =>
        Assert.Equal(decoded, RestRouteParser.PercentDecode(encoded));

    [Fact]
    public void Parse_VersionBeyondInt64_FailedToConvert()
    {
        var ex = Assert.Throws<ServingException>(() =>
            RestRouteParser.Parse("POST", "/v1/models/m/versions/18446744073709551615:predict"));
        Assert.Equal("Failed to convert version: 18446744073709551615 to numeric.", ex.Message);
    }

    [Theory]
    [InlineData("/v1/models/x", true)]
    [InlineData("/V1/anything", true)]
    [InlineData("/", false)]
    [InlineData("/v2/models/x", false)]
    [InlineData("/healthz", false)]
    [InlineData("/v1", false)]
    public void IsApiPath_MatchesV1Prefix(string target, bool expected) =>
        Assert.Equal(expected, RestRouteParser.IsApiPath(target));
}
