using TensorServe.Backends.Onnx;
using TensorServe.ModelWriter;
using TensorServe.Testing;
using OnnxType = TensorServe.ModelWriter.Onnx.TensorProto.Types.DataType;

namespace TensorServe.Tests.Backends.Onnx;

public class OnnxGraphInspectorTests
{
    [Fact]
    public void ReadGraphValues_DeclaredValues_ReportsTypesAndShapePresence()
    {
        var model = new OnnxModelBuilder()
            .Input("ranked", OnnxType.Int64, [-1, 2])
            .Input("free", OnnxType.String, null)
            .FloatInitializer("big", new float[100_000], 100_000)
            .Node("Identity", ["ranked"], ["ranked_out"]).Output("ranked_out", OnnxType.Int64, [-1, 2])
            .Node("Identity", ["free"], ["free_out"]).Output("free_out", OnnxType.String, null)
            .Output("seq", OnnxModelBuilder.SequenceType(OnnxModelBuilder.TensorType(OnnxType.Float, null)))
            .Build();
        using var temp = new TempModel(model);

        var values = OnnxGraphInspector.ReadGraphValues(temp.ModelPath);

        Assert.Equal(
        [
            new OnnxGraphValue(true, "ranked", true, (int)OnnxType.Int64, true),
            new OnnxGraphValue(true, "free", true, (int)OnnxType.String, false),
            new OnnxGraphValue(false, "ranked_out", true, (int)OnnxType.Int64, true),
            new OnnxGraphValue(false, "free_out", true, (int)OnnxType.String, false),
            new OnnxGraphValue(false, "seq", false, 0, false),
        ], values);
        Assert.Equal(["free", "free_out"], OnnxGraphInspector.UnknownRankNames(values).Order());
    }

    [Fact]
    public void ReadGraphValues_TruncatedOrMissingFile_ReturnsEmpty()
    {
        var model = DemoModels.Cifar10Cnn();
        using var temp = new TempModel(model[..(model.Length / 2)]);

        Assert.Empty(OnnxGraphInspector.ReadGraphValues(temp.ModelPath));
        Assert.Empty(OnnxGraphInspector.ReadGraphValues(Path.Combine(temp.BasePath, "missing.onnx")));
    }

    [FixtureFact]
    public void ReadGraphValues_ExporterWrittenModel_MatchesDeclaredInputs()
    {
        var path = Fixtures.Path("onnx", "onnx_backend_tests", "node", "test_where_example", "model.onnx");

        var values = OnnxGraphInspector.ReadGraphValues(path);

        Assert.Equal(["condition", "x", "y", "z"], values.Select(v => v.Name));
        Assert.Equal((int)OnnxType.Bool, values[0].ElementType);
        Assert.All(values, v => Assert.True(v.HasShape));
    }

    [Theory]
    [InlineData("[ErrorCode:InvalidArgument] Got invalid dimensions", "InvalidArgument", "Got invalid dimensions")]
    [InlineData("[ErrorCode:RuntimeException]  Non-zero status ", "RuntimeException", "Non-zero status")]
    [InlineData("plain message", "", "plain message")]
    [InlineData("[ErrorCode:Broken", "", "[ErrorCode:Broken")]
    public void Split_OrtMessages_SeparatesCodeFromText(string message, string code, string text)
    {
        Assert.Equal((code, text), OnnxErrors.Split(message));
    }
}
