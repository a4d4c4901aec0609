using System.Text;
using TensorServe.Backends.Onnx;
using TensorServe.ModelWriter;
using TensorServe.ModelWriter.Onnx;
using TensorServe.Models;
using TensorServe.Tensors;
using OnnxType = TensorServe.ModelWriter.Onnx.TensorProto.Types.DataType;

namespace TensorServe.Tests.Backends.Onnx;

public class OnnxServableTests
{
    public static TheoryData<OnnxType, DataType> DTypes => new()
    {
        { OnnxType.Float, DataType.Float },
        { OnnxType.Double, DataType.Double },
        { OnnxType.Int8, DataType.Int8 },
        { OnnxType.Int16, DataType.Int16 },
        { OnnxType.Int32, DataType.Int32 },
        { OnnxType.Int64, DataType.Int64 },
        { OnnxType.Uint8, DataType.UInt8 },
        { OnnxType.Uint16, DataType.UInt16 },
        { OnnxType.Uint32, DataType.UInt32 },
        { OnnxType.Uint64, DataType.UInt64 },
        { OnnxType.Bool, DataType.Bool },
        { OnnxType.String, DataType.String },
        { OnnxType.Float16, DataType.Half },
        { OnnxType.Bfloat16, DataType.BFloat16 },
    };

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Load_IdentityOfEachType_SignatureMapsDTypeAndShape(OnnxType onnxType, DataType dtype)
    {
        using var servable = TempModel.Load(DemoModels.Identity(("t", onnxType, [-1, 3])));

        Assert.Equal("onnx", servable.Platform);
        var signature = Assert.Single(servable.Signatures).Value;
        Assert.Equal(SignatureConstants.PredictMethodName, signature.MethodName);
        var (inAlias, input) = Assert.Single(signature.Inputs);
        var (outAlias, output) = Assert.Single(signature.Outputs);
        Assert.Equal("t", inAlias);
        Assert.Equal("t", input.Name);
        Assert.Equal(dtype, input.DType);
        Assert.Equal([-1L, 3L], input.Dims!);
        Assert.Equal("t_out", outAlias);
        Assert.Equal("t_out", output.Name);
        Assert.Equal(dtype, output.DType);
        Assert.Equal([-1L, 3L], output.Dims!);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Run_IdentityOfEachType_ReturnsInputValues(OnnxType onnxType, DataType dtype)
    {
        using var servable = TempModel.Load(DemoModels.Identity(("t", onnxType, [-1, 3])));
        using var input = MakeInput(dtype, [2, 3]);

        var outputs = OnnxTestData.RunAll(servable, input);
        try
        {
            var output = Assert.Single(outputs);
            OnnxTestData.AssertTensorEqual(input, output, relativeTolerance: 0, what: dtype.ToString());
        }
        finally
        {
            OnnxTestData.DisposeAll(outputs);
        }
    }

    [Fact]
    public void Load_SymbolicAndUnknownDims_MapToMinusOneAndNullRank()
    {
        var model = new OnnxModelBuilder()
            .Input("a", OnnxType.Float, ["batch", 4])
            .Input("b", OnnxType.Float, [-1, -1])
            .Input("c", OnnxType.Float, null)
            .Input("s", OnnxType.Float, [])
            .Node("Identity", ["a"], ["a_out"]).Output("a_out", OnnxType.Float, ["batch", 4])
            .Node("Identity", ["b"], ["b_out"]).Output("b_out", OnnxType.Float, [-1, -1])
            .Node("Identity", ["c"], ["c_out"]).Output("c_out", OnnxType.Float, null)
            .Node("Identity", ["s"], ["s_out"]).Output("s_out", OnnxType.Float, [])
            .Build();
        using var servable = TempModel.Load(model);

        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];
        Assert.Equal(["a", "b", "c", "s"], signature.Inputs.Select(kv => kv.Key));
        Assert.Equal([-1L, 4L], signature.Inputs[0].Value.Dims!);
        Assert.Equal([-1L, -1L], signature.Inputs[1].Value.Dims!);
        Assert.Null(signature.Inputs[2].Value.Dims);
        Assert.Equal([], signature.Inputs[3].Value.Dims!);
        Assert.Equal(["a_out", "b_out", "c_out", "s_out"], signature.Outputs.Select(kv => kv.Key));
        Assert.Equal([-1L, 4L], signature.Outputs[0].Value.Dims!);
        Assert.Null(signature.Outputs[2].Value.Dims);
        Assert.Equal([], signature.Outputs[3].Value.Dims!);
    }

    [Fact]
    public void Run_OutputSubsetInRequestOrder_ReturnsOnlyThoseOutputs()
    {
        using var servable = TempModel.Load(DemoModels.Identity(
            ("x", OnnxType.Float, [-1]), ("n", OnnxType.Int64, [-1]), ("s", OnnxType.String, [-1])));
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];
        using var x = OnnxTestData.Floats([2], 1.5f, -2f);
        using var n = Tensor.FromValues<long>(DataType.Int64, [3], [7, 8, 9]);
        using var s = Tensor.FromStrings([1], [Encoding.UTF8.GetBytes("hi")]);

        var outputs = servable.Run(signature, [x, n, s], [2, 0], CancellationToken.None);
        try
        {
            Assert.Equal(2, outputs.Length);
            Assert.Equal(DataType.String, outputs[0].DType);
            Assert.Equal("hi", Encoding.UTF8.GetString(outputs[0].GetString(0)));
            Assert.Equal([1.5f, -2f], outputs[1].AsSpan<float>().ToArray());
        }
        finally
        {
            OnnxTestData.DisposeAll(outputs);
        }
    }

    [Fact]
    public void Run_NoOutputsRequested_ReturnsEmpty()
    {
        using var servable = TempModel.Load(DemoModels.HalfPlusTwo());
        using var input = OnnxTestData.Floats([1], 1);
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];

        Assert.Empty(servable.Run(signature, [input], [], CancellationToken.None));
    }

    [Fact]
    public void Run_StringsWithArbitraryBytes_RoundTripExactly()
    {
        using var servable = TempModel.Load(DemoModels.Identity(("s", OnnxType.String, null)));
        byte[][] values = [[], [0xFF, 0x00, 0x41], Encoding.UTF8.GetBytes("héllo wörld"), new byte[5000]];
        values[3].AsSpan().Fill((byte)'z');
        using var input = Tensor.FromStrings([2, 2], values);

        var outputs = OnnxTestData.RunAll(servable, input);
        try
        {
            Assert.Equal([2L, 2L], outputs[0].Shape);
            for (var i = 0; i < values.Length; i++)
            {
                Assert.Equal(values[i], outputs[0].GetString(i).ToArray());
            }
        }
        finally
        {
            OnnxTestData.DisposeAll(outputs);
        }
    }

    [Fact]
    public void Run_EmptyTensor_ReturnsEmptyOutput()
    {
        using var servable = TempModel.Load(DemoModels.Identity(("x", OnnxType.Float, [-1, 2])));
        using var input = Tensor.Allocate(DataType.Float, [0, 2]);

        var outputs = OnnxTestData.RunAll(servable, input);
        try
        {
            Assert.Equal([0L, 2L], outputs[0].Shape);
            Assert.Equal(0, outputs[0].ElementCount);
        }
        finally
        {
            OnnxTestData.DisposeAll(outputs);
        }
    }

    [Fact]
    public void Run_IdentityOutputAfterInputReleased_KeepsItsValues()
    {
        // ORT may hand back an output that aliases the input buffer; the input's pooled array is reused once the request
        // releases it, so the output must not point into it.
        using var servable = TempModel.Load(DemoModels.Identity(("x", OnnxType.Float, [-1])));
        var values = Enumerable.Range(0, 1000).Select(i => i * 0.25f).ToArray();
        var input = Tensor.FromValues<float>(DataType.Float, [1000], values);
        var outputs = OnnxTestData.RunAll(servable, input);
        input.Dispose();
        using (var reuse = Tensor.Allocate(DataType.Float, [1000]))
        {
            reuse.AsSpan<float>().Fill(-1f);
            Assert.Equal(values, outputs[0].AsSpan<float>().ToArray());
        }
        OnnxTestData.DisposeAll(outputs);
    }

    [Fact]
    public void Run_WrongRank_IsInvalidArgumentNamingInputAndShapes()
    {
        using var servable = TempModel.Load(DemoModels.Identity(("x", OnnxType.Float, [-1, 3])));
        using var input = OnnxTestData.Floats([3], 1, 2, 3);

        var e = Assert.Throws<ServingException>(() => OnnxTestData.RunAll(servable, input));

        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal("Invalid rank for input: x Got: 1 Expected: 2 (model shape [?,3], request shape [3])", e.Message);
    }

    [Fact]
    public void Run_WrongFixedDim_IsInvalidArgument()
    {
        using var servable = TempModel.Load(DemoModels.Identity(("x", OnnxType.Float, [-1, 3])));
        using var input = OnnxTestData.Floats([2, 2], 1, 2, 3, 4);

        var e = Assert.Throws<ServingException>(() => OnnxTestData.RunAll(servable, input));

        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal("Got invalid dimensions for input: x for the following indices index: 1 Got: 2 Expected: 3 " +
                     "(model shape [?,3], request shape [2,2])", e.Message);
    }

    [Fact]
    public void Run_WrongDType_IsInvalidArgument()
    {
        using var servable = TempModel.Load(DemoModels.Identity(("x", OnnxType.Float, [-1])));
        using var input = Tensor.FromValues<int>(DataType.Int32, [1], [1]);

        var e = Assert.Throws<ServingException>(() => OnnxTestData.RunAll(servable, input));

        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal("Expects arg[0] to be float but int32 is provided", e.Message);
    }

    [Fact]
    public void Run_ShapesThatDoNotBroadcast_IsInvalidArgumentWithOrtMessage()
    {
        // Both inputs are [?]: the model accepts each shape, and only the Add kernel finds that 2 and 3 do not broadcast.
        var model = new OnnxModelBuilder()
            .Input("a", OnnxType.Float, [-1]).Input("b", OnnxType.Float, [-1])
            .Node("Add", ["a", "b"], ["sum"]).Output("sum", OnnxType.Float, [-1])
            .Build();
        using var servable = TempModel.Load(model);
        using var a = OnnxTestData.Floats([2], 1, 2);
        using var b = OnnxTestData.Floats([3], 1, 2, 3);

        var e = Assert.Throws<ServingException>(() => OnnxTestData.RunAll(servable, a, b));

        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Contains("broadcast", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("[ErrorCode:", e.Message);
    }

    [Fact]
    public void Run_CancelledToken_IsCancelled()
    {
        using var servable = TempModel.Load(DemoModels.HalfPlusTwo());
        using var input = OnnxTestData.Floats([1], 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];

        var e = Assert.Throws<ServingException>(() => servable.Run(signature, [input], [0], cts.Token));

        Assert.Equal(ErrorCode.Cancelled, e.Code);
    }

    [Fact]
    public void Run_CancelledWhileRunning_StopsWithCancelled()
    {
        // 200 chained 1024x1024 MatMuls take seconds; ORT checks RunOptions.Terminate between nodes.
        var builder = new OnnxModelBuilder().Input("a", OnnxType.Float, [1024, 1024]);
        var previous = "a";
        for (var i = 0; i < 200; i++)
        {
            builder.Node("MatMul", [previous, "a"], [$"m{i}"]);
            previous = $"m{i}";
        }
        using var servable = TempModel.Load(builder.Output(previous, OnnxType.Float, [1024, 1024]).Build());
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];
        using var input = Tensor.Allocate(DataType.Float, [1024, 1024]);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        var e = Assert.Throws<ServingException>(() => servable.Run(signature, [input], [0], cts.Token));

        Assert.Equal(ErrorCode.Cancelled, e.Code);
        Assert.Equal("Run call was cancelled", e.Message);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"cancellation took {stopwatch.Elapsed}");
    }

    [Fact]
    public void Run_CancellableTokenNotCancelled_Runs()
    {
        using var servable = TempModel.Load(DemoModels.HalfPlusTwo());
        using var input = OnnxTestData.Floats([2], 2, 4);
        using var cts = new CancellationTokenSource();
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];

        var outputs = servable.Run(signature, [input], [0], cts.Token);

        Assert.Equal([3f, 4f], outputs[0].AsSpan<float>().ToArray());
        OnnxTestData.DisposeAll(outputs);
    }

    [Fact]
    public void Load_SequenceOutput_FailsNamingTheOutput()
    {
        var model = new OnnxModelBuilder()
            .Input("x", OnnxType.Float, [2])
            .Node("SequenceConstruct", ["x", "x"], ["seq"])
            .Output("seq", OnnxModelBuilder.SequenceType(OnnxModelBuilder.TensorType(OnnxType.Float, [2])))
            .Build();
        using var temp = new TempModel(model);

        var e = Assert.Throws<ServingException>(() => temp.Load());

        Assert.Equal(ErrorCode.Unimplemented, e.Code);
        Assert.Equal($"Failed to load ONNX model {temp.ModelPath}: Output 'seq' is of type ONNX_TYPE_SEQUENCE; only " +
                     "tensor inputs and outputs can be served (sequence and map values such as ZipMap outputs have no " +
                     "TensorProto form)", e.Message);
    }

    [Fact]
    public void Load_ZipMapOutput_FailsNamingTheOutput()
    {
        // The classic scikit-learn classifier export: probabilities as a sequence of {label: probability} maps.
        var model = new OnnxModelBuilder()
            .Opset(1, "ai.onnx.ml")
            .Input("probs", OnnxType.Float, [-1, 2])
            .NodeInDomain("ai.onnx.ml", "ZipMap", ["probs"], ["zipped"], OnnxAttributes.Ints("classlabels_int64s", 0, 1))
            .Output("zipped", OnnxModelBuilder.SequenceType(
                OnnxModelBuilder.MapType(OnnxType.Int64, OnnxModelBuilder.TensorType(OnnxType.Float, null))))
            .Build();
        using var temp = new TempModel(model);

        var e = Assert.Throws<ServingException>(() => temp.Load());

        Assert.Equal(ErrorCode.Unimplemented, e.Code);
        Assert.Contains("Output 'zipped' is of type ONNX_TYPE_SEQUENCE", e.Message);
    }

    [Fact]
    public void Load_UnsupportedElementType_FailsNamingTheInput()
    {
        // float8 (ONNX 1.14) has no TensorFlow dtype.
        var model = new OnnxModelBuilder(opset: 21)
            .IrVersion(10)
            .Input("f8", OnnxType.Float8E4M3Fn, [2])
            .Node("Identity", ["f8"], ["f8_out"])
            .Output("f8_out", OnnxType.Float8E4M3Fn, [2])
            .Build();
        using var temp = new TempModel(model);

        var e = Assert.Throws<ServingException>(() => temp.Load());

        Assert.True(e.Code == ErrorCode.Unimplemented, e.Message);
        Assert.Equal($"Failed to load ONNX model {temp.ModelPath}: Input 'f8' has element type float8e4m3fn, which has " +
                     "no TensorFlow dtype", e.Message);
    }

    [Fact]
    public void Load_ComplexOutput_FailsNamingTheOutput()
    {
        // ORT knows complex64, but the tensors served here have no complex layout.
        var model = new OnnxModelBuilder()
            .Input("x", OnnxType.Float, [2])
            .Node("Cast", ["x"], ["c"], OnnxAttributes.Int("to", (long)OnnxType.Complex64))
            .Output("c", OnnxType.Complex64, [2])
            .Build();
        using var temp = new TempModel(model);

        var e = Assert.Throws<ServingException>(() => temp.Load());

        Assert.Equal(ErrorCode.Unimplemented, e.Code);
        Assert.Equal($"Failed to load ONNX model {temp.ModelPath}: Output 'c' has element type complex64, which has no " +
                     "TensorFlow dtype", e.Message);
    }

    [Fact]
    public void Load_RandomBytes_FailsCleanly()
    {
        var bytes = new byte[4096];
        new Random(1234).NextBytes(bytes);
        using var temp = new TempModel(bytes);

        var e = Assert.Throws<ServingException>(() => temp.Load());

        Assert.StartsWith($"Failed to load ONNX model {temp.ModelPath}: ", e.Message);
        Assert.DoesNotContain("[ErrorCode:", e.Message);
        Assert.NotEqual(ErrorCode.Ok, e.Code);
    }

    [Fact]
    public void Load_EmptyFile_FailsCleanly()
    {
        using var temp = new TempModel([]);

        var e = Assert.Throws<ServingException>(() => temp.Load());

        Assert.StartsWith($"Failed to load ONNX model {temp.ModelPath}: ", e.Message);
    }

    [Fact]
    public void Loader_VersionDirs_CanLoadOnlyWithModelFile()
    {
        using var temp = new TempModel(DemoModels.HalfPlusTwo());
        var loader = new OnnxServableLoader();
        var empty = Path.Combine(temp.BasePath, "2");
        Directory.CreateDirectory(empty);

        Assert.Equal("onnx", loader.Platform);
        Assert.True(loader.CanLoad(temp.VersionPath));
        Assert.False(loader.CanLoad(empty));
        var e = Assert.Throws<ServingException>(() => loader.Load(empty, CancellationToken.None));
        Assert.Equal(ErrorCode.NotFound, e.Code);
        Assert.Equal($"Could not find ONNX model model.onnx at supplied export directory path: {empty}", e.Message);
    }

    [Fact]
    public void Load_ThreadOptions_RunsCorrectly()
    {
        using var servable = TempModel.Load(DemoModels.Cifar10Cnn(),
            new OnnxBackendOptions { IntraOpThreads = 1, InterOpThreads = 2 });
        using var input = Tensor.Allocate(DataType.Float, [2, 32, 32, 3]);
        input.AsSpan<float>().Fill(0.5f);

        var outputs = OnnxTestData.RunAll(servable, input);

        Assert.Equal([2L, 10L], outputs[0].Shape);
        OnnxTestData.DisposeAll(outputs);
    }

    [Fact]
    public void Run_ConcurrentRequests_EachGetsItsOwnResult()
    {
        using var servable = TempModel.Load(DemoModels.HalfPlusTwo());
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];
        var failures = 0;

        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            for (var iteration = 0; iteration < 200; iteration++)
            {
                var n = 1 + (worker * 31 + iteration) % 64;
                var values = new float[n];
                for (var i = 0; i < n; i++)
                {
                    values[i] = worker * 1000 + iteration + i;
                }
                using var input = Tensor.FromValues<float>(DataType.Float, [n], values);
                var outputs = servable.Run(signature, [input], [0], CancellationToken.None);
                var result = outputs[0].AsSpan<float>();
                for (var i = 0; i < n; i++)
                {
                    if (result[i] != 0.5f * values[i] + 2f)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                OnnxTestData.DisposeAll(outputs);
            }
        });

        Assert.Equal(0, failures);
    }

    [Fact]
    public void Dispose_OutputsAndServableTwice_DoesNotThrow()
    {
        var servable = TempModel.Load(DemoModels.HalfPlusTwo());
        using var input = OnnxTestData.Floats([3], 1, 2, 3);
        var outputs = OnnxTestData.RunAll(servable, input);

        outputs[0].Dispose();
        outputs[0].Dispose();
        servable.Dispose();
        servable.Dispose();

        Assert.Throws<ObjectDisposedException>(() => outputs[0].Bytes.Length);
        Assert.Throws<ObjectDisposedException>(() => OnnxTestData.RunAll(servable, input));
    }

    [Fact]
    public void Dispose_ManyLargeOutputs_ReleasesOrtMemory()
    {
        // 300 runs with 4 MB outputs each: ~1.2 GB of ORT buffers if disposing a tensor did not release its OrtValue.
        using var servable = TempModel.Load(DemoModels.HalfPlusTwo());
        using var input = Tensor.Allocate(DataType.Float, [1 << 20]);
        RunAndDispose(servable, input, 20);
        var before = CurrentMemory();

        RunAndDispose(servable, input, 300);

        var growth = CurrentMemory() - before;
        Assert.True(growth < 400L << 20, $"memory grew by {growth >> 20} MB over 300 runs");
    }

    private static void RunAndDispose(IServable servable, Tensor input, int runs)
    {
        for (var i = 0; i < runs; i++)
        {
            OnnxTestData.DisposeAll(OnnxTestData.RunAll(servable, input));
        }
    }

    private static long CurrentMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    [Fact]
    public void Dispose_OutputOutlivesServable_StaysReadable()
    {
        // An output owns its ORT value; releasing the session first must not invalidate it.
        var servable = TempModel.Load(DemoModels.HalfPlusTwo());
        using var input = OnnxTestData.Floats([3], 2, 4, 6);
        var outputs = OnnxTestData.RunAll(servable, input);
        servable.Dispose();

        Assert.Equal([3f, 4f, 5f], outputs[0].AsSpan<float>().ToArray());
        outputs[0].Dispose();
    }

    private static Tensor MakeInput(DataType dtype, long[] shape)
    {
        var count = (int)TensorShape.ElementCount(shape);
        if (dtype == DataType.String)
        {
            return Tensor.FromStrings(shape, Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetBytes($"s{i}é")).ToArray());
        }
        var tensor = Tensor.Allocate(dtype, shape);
        var bytes = tensor.Bytes;
        var size = DataTypes.ElementSize(dtype);
        for (var i = 0; i < count; i++)
        {
            // A distinct, valid value per element: bool must be 0 or 1; others get an element-specific pattern.
            if (dtype == DataType.Bool)
            {
                bytes[i] = (byte)(i % 2);
            }
            else
            {
                for (var b = 0; b < size; b++)
                {
                    bytes[i * size + b] = (byte)(i * 17 + b * 3 + 1);
                }
            }
        }
        return tensor;
    }
}
