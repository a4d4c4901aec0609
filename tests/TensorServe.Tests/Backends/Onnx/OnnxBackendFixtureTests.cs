using TensorServe.Backends.Onnx;
using TensorServe.Models;
using TensorServe.Tensors;
using TensorServe.Testing;

namespace TensorServe.Tests.Backends.Onnx;

/// <summary>
/// Runs ONNX's own backend test data (fixtures README §3) through <see cref="OnnxServable"/>: each model with
/// <c>test_data_set_0/input_N.pb</c> must produce <c>output_N.pb</c> (floats within 1e-4 relative, others exact).
/// </summary>
public class OnnxBackendFixtureTests
{
    private static string TestDir(string name) => OnnxBackendTests.Dir(name);

    public static TheoryData<string> RunnableTests => new(OnnxBackendTests.Runnable);

    [FixtureTheory]
    [MemberData(nameof(RunnableTests))]
    public void Run_BackendTestVector_MatchesExpectedOutputs(string test)
    {
        using var servable = new OnnxServableLoader().Load(TestDir(test), CancellationToken.None);
        AssertTestDataSet(servable, Path.Combine(TestDir(test), "test_data_set_0"));
    }

    [FixtureFact]
    public void Load_Opset6GemmModel_FailsWithCleanMessage()
    {
        // pytorch-converted/test_Linear is Gemm at opset 6, for which ORT 1.31.1 has no kernel any more.
        var dir = TestDir("pytorch-converted/test_Linear");
        var e = Assert.Throws<ServingException>(() => new OnnxServableLoader().Load(dir, CancellationToken.None));
        Assert.Equal(ErrorCode.Unimplemented, e.Code);
        Assert.StartsWith($"Failed to load ONNX model {Path.Combine(dir, "model.onnx")}: ", e.Message);
        Assert.Contains("Could not find an implementation for Gemm(6)", e.Message);
        Assert.DoesNotContain("[ErrorCode:", e.Message);
    }

    [FixtureFact]
    public void Run_StringNormalizer_MatchesExpectedOrFailsCleanlyWithoutLocale()
    {
        // StringNormalizer builds the en_US.UTF-8 C++ locale at session creation; minimal images (like this project's
        // CI) ship only C.UTF-8, and then the load must fail with ORT's reason rather than crash.
        var dir = TestDir("simple/test_strnorm_model_monday_casesensintive_lower");
        IServable servable;
        try
        {
            servable = new OnnxServableLoader().Load(dir, CancellationToken.None);
        }
        catch (ServingException e)
        {
            Assert.False(HasLocale("en_US.UTF-8"), "en_US.UTF-8 exists, yet the model failed to load: " + e.Message);
            Assert.Contains("Failed to construct locale with name:en_US.UTF-8", e.Message);
            Assert.StartsWith("Failed to load ONNX model ", e.Message);
            return;
        }
        using (servable)
        {
            AssertTestDataSet(servable, Path.Combine(dir, "test_data_set_0"));
        }
    }

    [FixtureTheory]
    [InlineData("light_squeezenet", new long[] { 1, 1000, 1, 1 })]
    [InlineData("light_resnet50", new long[] { 1, 1000 })]
    public void Run_LightCnn_GivesUniformSoftmax(string model, long[] outputShape)
    {
        // Upstream's runner feeds arange(1*3*224*224).reshape(shape) / (1*3*224*224) as float32.
        using var temp = new TempModel(File.ReadAllBytes(Fixtures.Path("onnx", "onnx_backend_tests", "light", model + ".onnx")));
        using var servable = temp.Load();
        const int count = 1 * 3 * 224 * 224;
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)((double)i / count);
        }
        using var input = Tensor.FromValues<float>(DataType.Float, [1, 3, 224, 224], values);
        var outputs = OnnxTestData.RunAll(servable, input);
        try
        {
            using var expected = OnnxTestData.ToTensor(OnnxTestData.ReadTensorProto(
                Fixtures.Path("onnx", "onnx_backend_tests", "light", model + "_output_0.pb")));
            Assert.Equal(outputShape, outputs[0].Shape);
            OnnxTestData.AssertTensorEqual(expected, outputs[0], what: model);
            Assert.All(outputs[0].AsSpan<float>().ToArray(), v => Assert.Equal(0.001f, v, 1e-6f));
        }
        finally
        {
            OnnxTestData.DisposeAll(outputs);
        }
    }

    private static void AssertTestDataSet(IServable servable, string dataSet)
    {
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];
        var inputs = new Tensor[signature.Inputs.Count];
        var expected = new Tensor[signature.Outputs.Count];
        Tensor[]? outputs = null;
        try
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                var proto = OnnxTestData.ReadTensorProto(Path.Combine(dataSet, $"input_{i}.pb"));
                inputs[i] = OnnxTestData.ToTensor(proto);
            }
            for (var i = 0; i < expected.Length; i++)
            {
                expected[i] = OnnxTestData.ToTensor(OnnxTestData.ReadTensorProto(Path.Combine(dataSet, $"output_{i}.pb")));
            }
            outputs = OnnxTestData.RunAll(servable, inputs);
            Assert.Equal(expected.Length, outputs.Length);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.Equal(signature.Outputs[i].Value.DType, outputs[i].DType);
                OnnxTestData.AssertTensorEqual(expected[i], outputs[i], what: signature.Outputs[i].Key);
            }
        }
        finally
        {
            OnnxTestData.DisposeAll(inputs.Where(t => t is not null));
            OnnxTestData.DisposeAll(expected.Where(t => t is not null));
            OnnxTestData.DisposeAll(outputs ?? []);
        }
    }

    private static bool HasLocale(string name)
    {
        // glibc's compiled locales as folders; one only in locale-archive would have let the model load.
        var normalized = name.Replace("UTF-8", "utf8", StringComparison.Ordinal);
        return Directory.Exists(Path.Combine("/usr/lib/locale", name)) ||
               Directory.Exists(Path.Combine("/usr/lib/locale", normalized));
    }
}
