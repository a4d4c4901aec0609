using System.Text;
using TensorServe.Models;
using TensorServe.Rest;

namespace TensorServe.Tests.Rest;

public class ModelStatusJsonTests
{
    private static string Write(params ModelVersionStatus[] statuses)
    {
        var writer = new StrictBufferWriter();
        ModelStatusJson.Write(writer, statuses);
        return writer.WrittenText;
    }

    [Fact]
    public void Write_OneAvailableVersion_SpecExactBytes()
    {
        // g3doc/api_rest.md curl example (spec §2.1), including the trailing newline.
        const string Expected = "{\n \"model_version_status\": [\n  {\n   \"version\": \"123\",\n   \"state\": \"AVAILABLE\",\n" +
            "   \"status\": {\n    \"error_code\": \"OK\",\n    \"error_message\": \"\"\n   }\n  }\n ]\n}\n";
        Assert.Equal(Expected, Write(new ModelVersionStatus(123, ModelVersionState.Available, ErrorCode.Ok, "")));
    }

    [Fact]
    public void Write_SeveralVersions_CommaSeparatedInGivenOrder()
    {
        const string Expected = "{\n \"model_version_status\": [\n  {\n   \"version\": \"124\",\n   \"state\": \"END\",\n" +
            "   \"status\": {\n    \"error_code\": \"NOT_FOUND\",\n    \"error_message\": \"no \\u003cmodel\\u003e in \\\"dir\\\"\\n\"\n   }\n  },\n" +
            "  {\n   \"version\": \"9223372036854775807\",\n   \"state\": \"LOADING\",\n" +
            "   \"status\": {\n    \"error_code\": \"OK\",\n    \"error_message\": \"\"\n   }\n  }\n ]\n}\n";
        Assert.Equal(Expected, Write(
            new ModelVersionStatus(124, ModelVersionState.End, ErrorCode.NotFound, "no <model> in \"dir\"\n"),
            new ModelVersionStatus(long.MaxValue, ModelVersionState.Loading, ErrorCode.Ok, "")));
    }

    [Fact]
    public void Write_NoVersions_EmptyList() =>
        Assert.Equal("{\n \"model_version_status\": []\n}\n", Write());

    [Theory]
    [InlineData(ModelVersionState.Unknown, "UNKNOWN")]
    [InlineData(ModelVersionState.Start, "START")]
    [InlineData(ModelVersionState.Loading, "LOADING")]
    [InlineData(ModelVersionState.Available, "AVAILABLE")]
    [InlineData(ModelVersionState.Unloading, "UNLOADING")]
    [InlineData(ModelVersionState.End, "END")]
    public void StateName_EveryState_ProtoEnumName(ModelVersionState state, string name) =>
        Assert.Equal(name, ModelStatusJson.StateName(state));

    [Fact]
    public void ToUtf8Bytes_SameAsWrite()
    {
        var status = new ModelVersionStatus(1, ModelVersionState.Available, ErrorCode.Ok, "");
        Assert.Equal(Encoding.UTF8.GetBytes(Write(status)), ModelStatusJson.ToUtf8Bytes([status]));
    }
}
