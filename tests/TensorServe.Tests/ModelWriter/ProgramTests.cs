using TensorServe.Backends.Onnx;
using TensorServe.ModelWriter;
using TensorServe.Tests.Backends.Onnx;
using TensorServe.Tensors;

namespace TensorServe.Tests.ModelWriter;

public class ProgramTests
{
    [Fact]
    public void Main_OutputDir_WritesBothModelsAndConfig()
    {
        var root = Path.Combine(Path.GetTempPath(), "tensorserve-writer-" + Guid.NewGuid().ToString("N"));
        try
        {
            var exit = Program.Main([root]);

            Assert.Equal(0, exit);
            var halfPlusTwo = Path.Combine(root, "half_plus_two", "1", "model.onnx");
            var cifar = Path.Combine(root, "cifar10", "1", "model.onnx");
            Assert.Equal(DemoModels.HalfPlusTwo(), File.ReadAllBytes(halfPlusTwo));
            Assert.Equal(DemoModels.Cifar10Cnn(), File.ReadAllBytes(cifar));
            var config = File.ReadAllText(Path.Combine(root, "models.config"));
            Assert.Equal(
                "model_config_list {\n" +
                "  config {\n" +
                "    name: \"half_plus_two\"\n" +
                $"    base_path: \"{Path.Combine(root, "half_plus_two")}\"\n" +
                "    model_platform: \"onnx\"\n" +
                "  }\n" +
                "  config {\n" +
                "    name: \"cifar10\"\n" +
                $"    base_path: \"{Path.Combine(root, "cifar10")}\"\n" +
                "    model_platform: \"onnx\"\n" +
                "  }\n" +
                "}\n", config);

            // The written layout is what the loader serves.
            using var servable = new OnnxServableLoader().Load(Path.Combine(root, "half_plus_two", "1"), CancellationToken.None);
            using var input = OnnxTestData.Floats([1], 2f);
            var outputs = OnnxTestData.RunAll(servable, input);
            Assert.Equal(3f, outputs[0].AsSpan<float>()[0]);
            OnnxTestData.DisposeAll(outputs);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    public static TheoryData<string[]> BadArguments => new() { Array.Empty<string>(), new[] { "a", "b" }, new[] { "--help" } };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void Main_BadArguments_Returns2(string[] args)
    {
        var error = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            Assert.Equal(2, Program.Main(args));
        }
        finally
        {
            Console.SetError(error);
        }
        Assert.StartsWith("usage: TensorServe.ModelWriter <output-dir>", captured.ToString());
    }
}
