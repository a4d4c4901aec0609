using System.Text;
using System.Text.Json;
using TensorServe.Models;
using TensorServe.Rest;
using TensorServe.Tensors;

namespace TensorServe.Tests.Rest;

/// <summary>A fact that is skipped, with the reason, when TF Serving's metadata fixture is not on disk.</summary>
public sealed class MetadataFixtureFactAttribute : FactAttribute
{
    public MetadataFixtureFactAttribute()
    {
        if (ModelMetadataJsonTests.FixturePath is null)
        {
            Skip = "TF Serving fixture servables_testdata/half_plus_two_model_metadata.json not found under " +
                "<repo>/../shared/fixtures/tf_serving.";
        }
    }
}

public class ModelMetadataJsonTests
{
    /// <summary><c>&lt;repo&gt;/../shared/fixtures/tf_serving/servables_testdata/half_plus_two_model_metadata.json</c>, or null.</summary>
    internal static string? FixturePath { get; } = FindFixture();

    private static string? FindFixture()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Native.sln")))
            {
                var path = Path.Combine(dir.FullName, "..", "shared", "fixtures", "tf_serving", "servables_testdata",
                    "half_plus_two_model_metadata.json");
                return File.Exists(path) ? Path.GetFullPath(path) : null;
            }
        }
        return null;
    }

    private static KeyValuePair<string, TensorInfo> Info(string alias, string name, DataType dtype, long[]? dims) =>
        new(alias, new TensorInfo(name, dtype, dims));

    /// <summary>saved_model_half_plus_two_cpu's signatures (spec §10.1), built by hand.</summary>
    private static Dictionary<string, SignatureDef> HalfPlusTwoSignatures()
    {
        long[] batch = [-1, 1];
        return new Dictionary<string, SignatureDef>
        {
            ["serving_default"] = new(SignatureConstants.PredictMethodName,
                [Info("x", "x:0", DataType.Float, batch)], [Info("y", "y:0", DataType.Float, batch)]),
            ["classify_x_to_y"] = new(SignatureConstants.ClassifyMethodName,
                [Info("inputs", "tf_example:0", DataType.String, null)], [Info("scores", "y:0", DataType.Float, batch)]),
            ["regress_x_to_y"] = new(SignatureConstants.RegressMethodName,
                [Info("inputs", "tf_example:0", DataType.String, null)], [Info("outputs", "y:0", DataType.Float, batch)]),
            ["regress_x_to_y2"] = new(SignatureConstants.RegressMethodName,
                [Info("inputs", "tf_example:0", DataType.String, null)], [Info("outputs", "y2:0", DataType.Float, batch)]),
            ["regress_x2_to_y3"] = new(SignatureConstants.RegressMethodName,
                [Info("inputs", "x2:0", DataType.Float, batch)], [Info("outputs", "y3:0", DataType.Float, batch)]),
        };
    }

    private static string Write(string name, long version, IReadOnlyDictionary<string, SignatureDef> signatures)
    {
        var writer = new StrictBufferWriter();
        ModelMetadataJson.Write(writer, name, version, signatures);
        return writer.WrittenText;
    }

    [MetadataFixtureFact]
    public void Write_HalfPlusTwoCpu_MatchesTfServingFixture()
    {
        var expected = File.ReadAllText(FixturePath!);
        JsonAssert.Equivalent(expected, Write("default", 123, HalfPlusTwoSignatures()));
    }

    [Fact]
    public void Write_HalfPlusTwoCpu_IsValidJsonWithEverySignature()
    {
        using var doc = JsonDocument.Parse(Write("default", 123, HalfPlusTwoSignatures()));
        var map = doc.RootElement.GetProperty("metadata").GetProperty("signature_def").GetProperty("signature_def");
        Assert.Equal(["serving_default", "classify_x_to_y", "regress_x_to_y", "regress_x_to_y2", "regress_x2_to_y3"],
            map.EnumerateObject().Select(p => p.Name));
        var shape = map.GetProperty("classify_x_to_y").GetProperty("inputs").GetProperty("inputs").GetProperty("tensor_shape");
        Assert.Equal(0, shape.GetProperty("dim").GetArrayLength());
        Assert.True(shape.GetProperty("unknown_rank").GetBoolean());
    }

    [Fact]
    public void Write_OneSignature_ExactConcatenatedLayout()
    {
        var signatures = new Dictionary<string, SignatureDef>
        {
            ["serving_default"] = new(SignatureConstants.PredictMethodName,
                [Info("x", "x:0", DataType.Float, [-1, 1]), Info("t", "tf_example:0", DataType.String, null)],
                [Info("y", "y:0", DataType.Double, [])]),
        };
        const string Expected =
            "{\n" +
            "\"model_spec\":{\n" +
            " \"name\": \"m1\",\n" +
            " \"signature_name\": \"\",\n" +
            " \"version\": \"7\"\n" +
            "}\n" +
            ",\n" +
            "\"metadata\": {\"signature_def\": {\n" +
            " \"signature_def\": {\n" +
            "  \"serving_default\": {\n" +
            "   \"inputs\": {\n" +
            "    \"x\": {\n" +
            "     \"dtype\": \"DT_FLOAT\",\n" +
            "     \"tensor_shape\": {\n" +
            "      \"dim\": [\n" +
            "       {\n" +
            "        \"size\": \"-1\",\n" +
            "        \"name\": \"\"\n" +
            "       },\n" +
            "       {\n" +
            "        \"size\": \"1\",\n" +
            "        \"name\": \"\"\n" +
            "       }\n" +
            "      ],\n" +
            "      \"unknown_rank\": false\n" +
            "     },\n" +
            "     \"name\": \"x:0\"\n" +
            "    },\n" +
            "    \"t\": {\n" +
            "     \"dtype\": \"DT_STRING\",\n" +
            "     \"tensor_shape\": {\n" +
            "      \"dim\": [],\n" +
            "      \"unknown_rank\": true\n" +
            "     },\n" +
            "     \"name\": \"tf_example:0\"\n" +
            "    }\n" +
            "   },\n" +
            "   \"outputs\": {\n" +
            "    \"y\": {\n" +
            "     \"dtype\": \"DT_DOUBLE\",\n" +
            "     \"tensor_shape\": {\n" +
            "      \"dim\": [],\n" +
            "      \"unknown_rank\": false\n" +
            "     },\n" +
            "     \"name\": \"y:0\"\n" +
            "    }\n" +
            "   },\n" +
            "   \"method_name\": \"tensorflow/serving/predict\",\n" +
            "   \"defaults\": {}\n" +
            "  }\n" +
            " }\n" +
            "}\n" +
            "}\n" +
            "}\n";
        Assert.Equal(Expected, Write("m1", 7, signatures));
    }

    [Fact]
    public void Write_ModelNameWithHtmlCharacters_ProtobufEscaped() =>
        Assert.StartsWith("{\n\"model_spec\":{\n \"name\": \"a\\u003cb\\u003e\\\"c\",\n",
            Write("a<b>\"c", 1, new Dictionary<string, SignatureDef>()));

    [Fact]
    public void Write_NoSignatures_EmptyMap() =>
        Assert.Equal("{\n\"model_spec\":{\n \"name\": \"m\",\n \"signature_name\": \"\",\n \"version\": \"1\"\n}\n,\n" +
            "\"metadata\": {\"signature_def\": {\n \"signature_def\": {}\n}\n}\n}\n",
            Write("m", 1, new Dictionary<string, SignatureDef>()));

    [Fact]
    public void ToUtf8Bytes_SameAsWrite() =>
        Assert.Equal(Encoding.UTF8.GetBytes(Write("default", 123, HalfPlusTwoSignatures())),
            ModelMetadataJson.ToUtf8Bytes("default", 123, HalfPlusTwoSignatures()));
}
