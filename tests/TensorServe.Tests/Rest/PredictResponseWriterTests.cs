using System.Text;
using System.Text.Json;
using TensorServe.Models;
using TensorServe.Rest;
using TensorServe.Tensors;

namespace TensorServe.Tests.Rest;

public class PredictResponseWriterTests
{
    private static Tensor F(long[] shape, params float[] values) => Tensor.FromValues<float>(DataType.Float, shape, values);

    private static Tensor I(long[] shape, params int[] values) => Tensor.FromValues<int>(DataType.Int32, shape, values);

    private static Tensor S(long[] shape, params string[] values) =>
        Tensor.FromStrings(shape, values.Select(Encoding.UTF8.GetBytes).ToArray());

    /// <summary>Writes the outputs through a strict writer and disposes the tensors.</summary>
    private static string Write(PredictRequestFormat format, params (string Alias, Tensor Tensor)[] outputs)
    {
        try
        {
            var writer = new StrictBufferWriter();
            PredictResponseWriter.Write(writer, format, outputs.Select(o => o.Alias).ToArray(),
                outputs.Select(o => o.Tensor).ToArray());
            return writer.WrittenText;
        }
        finally
        {
            foreach (var (_, tensor) in outputs)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>Asserts the INVALID_ARGUMENT text and that nothing was written before the failure.</summary>
    private static void AssertFails(string message, PredictRequestFormat format, params (string Alias, Tensor Tensor)[] outputs)
    {
        var writer = new StrictBufferWriter();
        try
        {
            var error = Assert.Throws<ServingException>(() => PredictResponseWriter.Write(writer, format,
                outputs.Select(o => o.Alias).ToArray(), outputs.Select(o => o.Tensor).ToArray()));
            Assert.Equal(ErrorCode.InvalidArgument, error.Code);
            Assert.Equal(message, error.Message);
            Assert.Empty(writer.WrittenBytes);
            Assert.Equal(0, writer.GetSpanCalls);
        }
        finally
        {
            foreach (var (_, tensor) in outputs)
            {
                tensor.Dispose();
            }
        }
    }

    private static string Compact(string json) => string.Concat(json.Where(c => !char.IsWhiteSpace(c)));

    // ---- Spec §1.6 "Exact bytes" ----

    [Fact]
    public void Write_RowOneOutputRank1_ExactBytes() =>
        Assert.Equal("{\n    \"predictions\": [3.5, 4.0, 5.5\n    ]\n}",
            Write(PredictRequestFormat.Row, ("y", F([3], 3.5f, 4f, 5.5f))));

    [Fact]
    public void Write_RowOneOutputRank2_ExactBytes() =>
        Assert.Equal("{\n    \"predictions\": [[2.5, 3.0], [3.5, 4.0]\n    ]\n}",
            Write(PredictRequestFormat.Row, ("y", F([2, 2], 2.5f, 3f, 3.5f, 4f))));

    [Fact]
    public void Write_RowZeroBatch_ExactBytes() =>
        Assert.Equal("{\n    \"predictions\": []\n}", Write(PredictRequestFormat.Row, ("y", F([0]))));

    [Fact]
    public void Write_RowTwoOutputs_ObjectsPerItemExactBytes()
    {
        const string Expected = """
            {
                "predictions": [
                    {
                        "a": [1.0, 2.0],
                        "b": 7
                    },
                    {
                        "a": [1.0, 2.0],
                        "b": 7
                    }
                ]
            }
            """;
        Assert.Equal(Expected.ReplaceLineEndings("\n"),
            Write(PredictRequestFormat.Row, ("a", F([2, 2], 1f, 2f, 1f, 2f)), ("b", I([2], 7, 7))));
    }

    [Fact]
    public void Write_ColumnarOneOutput_EveryElementOnItsOwnLine()
    {
        const string Expected = """
            {
                "outputs": [
                    [
                        3.5
                    ],
                    [
                        4.0
                    ]
                ]
            }
            """;
        Assert.Equal(Expected.ReplaceLineEndings("\n"), Write(PredictRequestFormat.Columnar, ("y", F([2, 1], 3.5f, 4f))));
    }

    [Fact]
    public void Write_ColumnarScalar_BareValue() =>
        Assert.Equal("{\n    \"outputs\": 3.0\n}", Write(PredictRequestFormat.Columnar, ("y", F([], 3f))));

    [Fact]
    public void Write_ColumnarTwoOutputs_ObjectKeyedByAlias()
    {
        const string Expected = """
            {
                "outputs": {
                    "a": [
                        1.0,
                        2.0
                    ],
                    "b": 9e+06
                }
            }
            """;
        Assert.Equal(Expected.ReplaceLineEndings("\n"),
            Write(PredictRequestFormat.Columnar, ("a", F([2], 1f, 2f)), ("b", F([], 9_000_000f))));
    }

    // ---- util/json_tensor_test.cc examples (parsed JSON equality) ----

    private static readonly int[] IntTensorValues = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2];

    [Fact]
    public void Write_RowIntTensorRank3_MatchesJsonTensorTest() =>
        JsonAssert.Equivalent("""{"predictions": [[[1,2],[3,4],[5,6]],[[7,8],[9,0],[1,2]]]}""",
            Write(PredictRequestFormat.Row, ("int_tensor", I([2, 3, 2], IntTensorValues))));

    [Fact]
    public void Write_ColumnarIntTensorRank3_MatchesJsonTensorTest() =>
        JsonAssert.Equivalent("""{"outputs": [[[1,2],[3,4],[5,6]],[[7,8],[9,0],[1,2]]]}""",
            Write(PredictRequestFormat.Columnar, ("int_tensor", I([2, 3, 2], IntTensorValues))));

    [Fact]
    public void Write_IntTensorRank1_MatchesJsonTensorTest()
    {
        JsonAssert.Equivalent("""{"predictions": [1,2,3,4,5]}""",
            Write(PredictRequestFormat.Row, ("int_tensor", I([5], 1, 2, 3, 4, 5))));
        JsonAssert.Equivalent("""{"outputs": [1,2,3,4,5]}""",
            Write(PredictRequestFormat.Columnar, ("int_tensor", I([5], 1, 2, 3, 4, 5))));
    }

    [Fact]
    public void Write_RowBytesAlias_Base64Objects() =>
        JsonAssert.Equivalent(
            """{"predictions": [[{"b64":"aGVsbG8="},{"b64":"d29ybGQ="}],[{"b64":"dGY="},{"b64":"c2VydmluZw=="}]]}""",
            Write(PredictRequestFormat.Row, ("str_tensor_bytes", S([2, 2], "hello", "world", "tf", "serving"))));

    [Fact]
    public void Write_RowNonFiniteFloats_BareTokens()
    {
        var text = Write(PredictRequestFormat.Row,
            ("float_tensor", F([2, 2], float.NaN, float.PositiveInfinity, 3f, float.NegativeInfinity)));
        Assert.Equal("""{"predictions":[[NaN,Infinity],[3.0,-Infinity]]}""", Compact(text));
    }

    private static (string, Tensor)[] FiveOutputs() =>
    [
        ("double_scalar_tensor", Tensor.FromValues<double>(DataType.Double, [2], [8.0, 9.0])),
        ("float_tensor", F([2, 1], 1f, 2f)),
        ("int_tensor", I([2, 3, 2], IntTensorValues)),
        ("str_tensor", S([2, 2], "foo", "bar", "baz", "bat")),
        ("str_tensor_bytes", S([2, 2], "hello", "world", "tf", "serving")),
    ];

    [Fact]
    public void Write_RowFiveOutputs_MatchesJsonTensorTest() =>
        JsonAssert.Equivalent("""
            {"predictions":[
              {"double_scalar_tensor":8.0,"float_tensor":[1.0],"int_tensor":[[1,2],[3,4],[5,6]],"str_tensor":["foo","bar"],"str_tensor_bytes":[{"b64":"aGVsbG8="},{"b64":"d29ybGQ="}]},
              {"double_scalar_tensor":9.0,"float_tensor":[2.0],"int_tensor":[[7,8],[9,0],[1,2]],"str_tensor":["baz","bat"],"str_tensor_bytes":[{"b64":"dGY="},{"b64":"c2VydmluZw=="}]}]}
            """, Write(PredictRequestFormat.Row, FiveOutputs()));

    [Fact]
    public void Write_ColumnarFiveOutputs_MatchesJsonTensorTest() =>
        JsonAssert.Equivalent("""
            {"outputs":{"double_scalar_tensor":[8.0,9.0],"float_tensor":[[1.0],[2.0]],"int_tensor":[[[1,2],[3,4],[5,6]],[[7,8],[9,0],[1,2]]],"str_tensor":[["foo","bar"],["baz","bat"]],"str_tensor_bytes":[[{"b64":"aGVsbG8="},{"b64":"d29ybGQ="}],[{"b64":"dGY="},{"b64":"c2VydmluZw=="}]]}}
            """, Write(PredictRequestFormat.Columnar, FiveOutputs()));

    [Fact]
    public void Write_RowFiveOutputs_KeysInGivenOrder()
    {
        var text = Write(PredictRequestFormat.Row, FiveOutputs().Reverse().ToArray());
        using var doc = JsonDocument.Parse(text);
        var names = doc.RootElement.GetProperty("predictions")[0].EnumerateObject().Select(p => p.Name);
        Assert.Equal(["str_tensor_bytes", "str_tensor", "int_tensor", "float_tensor", "double_scalar_tensor"], names);
    }

    [Fact]
    public void Write_RowInconsistentBatch_Fails() =>
        AssertFails("Tensor name: str_tensor has inconsistent batch size: 1 expecting: 2", PredictRequestFormat.Row,
            ("int_tensor", I([2, 3], 1, 2, 3, 4, 5, 6)), ("str_tensor", S([1, 3], "a", "b", "c")));

    [Fact]
    public void Write_RowTwoZeroBatchOutputs_EmptyPredictions() =>
        Assert.Equal("{\n    \"predictions\": []\n}",
            Write(PredictRequestFormat.Row, ("a", F([0, 1, 2])), ("b", F([0, 3, 4]))));

    [Fact]
    public void Write_RowZeroThenOneBatch_Fails() =>
        AssertFails("Tensor name: b has inconsistent batch size: 1 expecting: 0", PredictRequestFormat.Row,
            ("a", F([0, 2])), ("b", F([1, 2], 1f, 2f)));

    // ---- Other rules ----

    [Fact]
    public void Write_RowScalarOutput_FailsWithTrailingSpace() =>
        AssertFails("Tensor name: y has no shape information ", PredictRequestFormat.Row, ("y", F([], 1f)));

    [Fact]
    public void Write_NoOutputs_Fails() =>
        AssertFails("Cannot convert empty tensor map to JSON", PredictRequestFormat.Columnar);

    [Theory]
    [InlineData(DataType.UInt16, "uint16")]
    [InlineData(DataType.Half, "half")]
    [InlineData(DataType.BFloat16, "bfloat16")]
    public void Write_UnwritableDtype_FailsBeforeWriting(DataType dtype, string name)
    {
        AssertFails($"Failed to write JSON value for tensor type: {name}", PredictRequestFormat.Row,
            ("ok", F([2], 1f, 2f)), ("bad", Tensor.Allocate(dtype, [2])));
        AssertFails($"Failed to write JSON value for tensor type: {name}", PredictRequestFormat.Columnar,
            ("bad", Tensor.Allocate(dtype, [])));
    }

    [Fact]
    public void Write_UnwritableDtypeWithoutValues_WritesEmptyArrays()
    {
        // TF only fails when it reaches a value, so an empty tensor of any dtype still prints.
        Assert.Equal("{\n    \"outputs\": []\n}",
            Write(PredictRequestFormat.Columnar, ("h", Tensor.Allocate(DataType.Half, [0]))));
        Assert.Equal("{\n    \"predictions\": [[], []\n    ]\n}",
            Write(PredictRequestFormat.Row, ("h", Tensor.Allocate(DataType.UInt16, [2, 0]))));
    }

    [Fact]
    public void Write_RawStrings_RapidJsonEscaping() =>
        Assert.Equal("{\n    \"outputs\": [\n        \"a\\\"b\\\\c\\n/\u00e9\\u0001\"\n    ]\n}",
            Write(PredictRequestFormat.Columnar, ("s", S([1], "a\"b\\c\n/\u00e9\u0001"))));

    [Fact]
    public void Write_ColumnarBytesAlias_Base64ObjectLayout()
    {
        const string Expected = """
            {
                "outputs": [
                    {
                        "b64": "aGVsbG8="
                    }
                ]
            }
            """;
        Assert.Equal(Expected.ReplaceLineEndings("\n"), Write(PredictRequestFormat.Columnar, ("x_bytes", S([1], "hello"))));
    }

    [Fact]
    public void Write_RowBytesAlias_ObjectsStayMultiLineInsideSingleLineArrays() =>
        // PrettyPrefix puts no newline before an array element in single-line mode, but object members still get one.
        Assert.Equal("{\n    \"predictions\": [{\n            \"b64\": \"aGk=\"\n        }, {\n            \"b64\": \"\"\n        }\n    ]\n}",
            Write(PredictRequestFormat.Row, ("x_bytes", S([2], "hi", ""))));

    [Fact]
    public void Write_BytesSuffixOnNumericTensor_WritesNumbers() =>
        Assert.Equal("{\n    \"predictions\": [1, 2\n    ]\n}", Write(PredictRequestFormat.Row, ("x_bytes", I([2], 1, 2))));

    [Fact]
    public void Write_LargeBytesValue_Base64RoundTrips()
    {
        var data = new byte[10_000];
        new Random(7).NextBytes(data);
        var writer = new StrictBufferWriter();
        using (var tensor = Tensor.FromStrings([], [data]))
        {
            PredictResponseWriter.Write(writer, PredictRequestFormat.Columnar, ["blob_bytes"], [tensor]);
        }
        using var doc = JsonDocument.Parse(writer.WrittenBytes);
        Assert.Equal(data, doc.RootElement.GetProperty("outputs").GetProperty("b64").GetBytesFromBase64());
    }

    [Fact]
    public void Write_AllIntegerAndBoolDtypes_RapidJsonText()
    {
        var text = Write(PredictRequestFormat.Columnar,
            ("i8", Tensor.FromValues<sbyte>(DataType.Int8, [2], [sbyte.MinValue, sbyte.MaxValue])),
            ("u8", Tensor.FromValues<byte>(DataType.UInt8, [2], [0, 255])),
            ("i16", Tensor.FromValues<short>(DataType.Int16, [2], [short.MinValue, short.MaxValue])),
            ("i32", I([2], int.MinValue, int.MaxValue)),
            ("i64", Tensor.FromValues<long>(DataType.Int64, [2], [long.MinValue, long.MaxValue])),
            ("u32", Tensor.FromValues<uint>(DataType.UInt32, [2], [0, uint.MaxValue])),
            ("u64", Tensor.FromValues<ulong>(DataType.UInt64, [2], [0, ulong.MaxValue])),
            ("b", Tensor.FromValues<byte>(DataType.Bool, [3], [0, 1, 2])),
            ("d", Tensor.FromValues<double>(DataType.Double, [2], [0.1, 1e300])));
        Assert.Equal(
            "{\"outputs\":{\"i8\":[-128,127],\"u8\":[0,255],\"i16\":[-32768,32767],\"i32\":[-2147483648,2147483647]," +
            "\"i64\":[-9223372036854775808,9223372036854775807],\"u32\":[0,4294967295],\"u64\":[0,18446744073709551615]," +
            "\"b\":[false,true,true],\"d\":[0.1,1e+300]}}",
            Compact(text));
    }

    [Fact]
    public void Write_RowRank3_InnerArraysSingleLine() =>
        Assert.Equal("{\n    \"predictions\": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]\n    ]\n}",
            Write(PredictRequestFormat.Row, ("y", I([2, 2, 2], 1, 2, 3, 4, 5, 6, 7, 8))));

    [Fact]
    public void Write_AliasNeedingEscapes_KeyEscapedAsRapidJsonString()
    {
        var text = Write(PredictRequestFormat.Columnar, ("gr\u00f6\u00dfe\"x", F([], 1f)), ("tab\t", F([], 2f)));
        Assert.Equal("{\n    \"outputs\": {\n        \"gr\u00f6\u00dfe\\\"x\": 1.0,\n        \"tab\\t\": 2.0\n    }\n}", text);
    }

    [Fact]
    public void Write_DeepRank_UsesHeapStackAndStaysValid()
    {
        var shape = Enumerable.Repeat(1L, 40).ToArray();
        var text = Write(PredictRequestFormat.Columnar, ("deep", F(shape, 1.5f)));
        Assert.Equal("{\"outputs\":" + new string('[', 40) + "1.5" + new string(']', 40) + "}", Compact(text));
    }

    [Fact]
    public void Write_ManyRowOutputs_EachItemHasEveryAlias()
    {
        var outputs = Enumerable.Range(0, 50).Select(i => ($"o{i}", I([2], i, -i))).ToArray();
        var text = Write(PredictRequestFormat.Row, outputs);
        using var doc = JsonDocument.Parse(text);
        var items = doc.RootElement.GetProperty("predictions");
        Assert.Equal(2, items.GetArrayLength());
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(i, items[0].GetProperty($"o{i}").GetInt32());
            Assert.Equal(-i, items[1].GetProperty($"o{i}").GetInt32());
        }
    }

    [Fact]
    public void Write_PredictResult_UsesItsAliasesAndTensors()
    {
        using var result = new PredictResult("serving_default", ["y"], [F([2], 3f, 3.5f)]);
        var writer = new StrictBufferWriter();
        PredictResponseWriter.Write(writer, PredictRequestFormat.Columnar, result);
        Assert.Equal("{\n    \"outputs\": [\n        3.0,\n        3.5\n    ]\n}", writer.WrittenText);
    }

    /// <summary>Reuses one buffer forever, so measuring allocations sees only the writer's own.</summary>
    private sealed class ReusedBufferWriter : System.Buffers.IBufferWriter<byte>
    {
        private readonly byte[] _buffer = new byte[1 << 16];

        public void Advance(int count)
        {
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => _buffer;

        public Span<byte> GetSpan(int sizeHint = 0) => _buffer;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Write_LargeOutputs_AllocationDoesNotGrowWithElements(bool columnar)
    {
        var format = columnar ? PredictRequestFormat.Columnar : PredictRequestFormat.Row;
        var random = new Random(3);
        var floats = Enumerable.Range(0, 20_000).Select(_ => (float)random.NextDouble() * 1000).ToArray();
        var doubles = Enumerable.Range(0, 20_000).Select(_ => random.NextDouble()).ToArray();
        var strings = Enumerable.Range(0, 2_000).Select(i => "s" + i).ToArray();
        using var f = F([1000, 20], floats);
        using var d = Tensor.FromValues<double>(DataType.Double, [1000, 20], doubles);
        using var s = S([1000, 2], strings);
        using var b = S([1000, 2], strings);
        string[] aliases = ["f", "d", "s", "b_bytes"];
        Tensor[] tensors = [f, d, s, b];
        var writer = new ReusedBufferWriter();
        PredictResponseWriter.Write(writer, format, aliases, tensors); // warm up pools and JIT

        var before = GC.GetAllocatedBytesForCurrentThread();
        PredictResponseWriter.Write(writer, format, aliases, tensors);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 44,000 elements");
    }
}
