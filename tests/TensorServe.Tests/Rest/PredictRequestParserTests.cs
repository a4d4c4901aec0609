using System.Text;
using TensorServe.Models;
using TensorServe.Rest;
using TensorServe.Tensors;

namespace TensorServe.Tests.Rest;

/// <summary>Spec §1.5; the request cases of TF Serving's <c>util/json_tensor_test.cc</c> are ported as facts.</summary>
public class PredictRequestParserTests
{
    private static SignatureDef Signature(params (string Alias, DataType DType)[] inputs) =>
        new(SignatureConstants.PredictMethodName,
            inputs.Select(i => KeyValuePair.Create(i.Alias, new TensorInfo(i.Alias + ":0", i.DType, null))),
            [KeyValuePair.Create("out", new TensorInfo("out:0", DataType.Float, null))]);

    private static SignatureDef Single(DataType dtype, string alias = "x") => Signature((alias, dtype));

    private sealed class Parsed(PredictRequestFormat format, string? signatureName,
        List<KeyValuePair<string, Tensor>> inputs) : IDisposable
    {
        public PredictRequestFormat Format { get; } = format;

        public string? SignatureName { get; } = signatureName;

        public List<KeyValuePair<string, Tensor>> Inputs { get; } = inputs;

        public Tensor this[string alias] => Inputs.Single(i => i.Key == alias).Value;

        public Tensor Only => Assert.Single(Inputs).Value;

        public void Dispose()
        {
            foreach (var input in Inputs)
            {
                input.Value.Dispose();
            }
        }
    }

    private static Parsed Parse(string json, SignatureDef signature) => Parse(Encoding.UTF8.GetBytes(json), signature);

    private static Parsed Parse(byte[] body, SignatureDef signature)
    {
        var envelope = PredictRequestParser.ParseEnvelope(body);
        var inputs = new List<KeyValuePair<string, Tensor>>();
        var format = PredictRequestParser.ParseInputs(body, envelope, signature, envelope.SignatureName, inputs);
        return new Parsed(format, envelope.SignatureName, inputs);
    }

    private static ServingException Fail(string json, SignatureDef signature, ErrorCode code = ErrorCode.InvalidArgument)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var inputs = new List<KeyValuePair<string, Tensor>>();
        var e = Assert.Throws<ServingException>(() =>
        {
            var envelope = PredictRequestParser.ParseEnvelope(body);
            PredictRequestParser.ParseInputs(body, envelope, signature, envelope.SignatureName, inputs);
        });
        Assert.Equal(code, e.Code);
        Assert.Empty(inputs);
        return e;
    }

    private static string FailMessage(string json, SignatureDef signature) => Fail(json, signature).Message;

    // ---- json_tensor_test.cc request cases ----

    [Fact]
    public void SingleUnnamedTensor_RowFormat()
    {
        using var parsed = Parse("{\"instances\": [[1,2],[3,4],[5,6]]}", Single(DataType.Int32));
        Assert.Equal(PredictRequestFormat.Row, parsed.Format);
        Assert.Equal(DataType.Int32, parsed.Only.DType);
        Assert.Equal([3L, 2], parsed.Only.Shape);
        Assert.Equal([1, 2, 3, 4, 5, 6], parsed.Only.AsSpan<int>().ToArray());
    }

    [Fact]
    public void MixedNumbers_Float()
    {
        using var parsed = Parse("{\"instances\": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}", Single(DataType.Float));
        Assert.Equal([7L], parsed.Only.Shape);
        Assert.Equal([1f, 2f, 3f, 4f, 5.003f, 0.007f, 0f], parsed.Only.AsSpan<float>().ToArray());
    }

    [Fact]
    public void SignatureName_Given()
    {
        using var parsed = Parse("{\"signature_name\": \"predict_images\", \"instances\": [[1,2]]}",
            Single(DataType.Int32));
        Assert.Equal("predict_images", parsed.SignatureName);
        Assert.Equal([1L, 2], parsed.Only.Shape);
    }

    [Fact]
    public void Base64Elements_String()
    {
        using var parsed = Parse("{\"instances\": [ { \"b64\" : \"aGVsbG8=\" }, { \"b64\": \"d29ybGQ=\" } ]}",
            Single(DataType.String));
        Assert.Equal([2L], parsed.Only.Shape);
        Assert.Equal(["hello", "world"], Strings(parsed.Only));
    }

    [Fact]
    public void Base64Lists_String()
    {
        using var parsed = Parse("{\"instances\": [ [{ \"b64\" : \"aGVsbG8=\" }], [{ \"b64\": \"d29ybGQ=\" }] ]}",
            Single(DataType.String));
        Assert.Equal([2L, 1], parsed.Only.Shape);
        Assert.Equal(["hello", "world"], Strings(parsed.Only));
    }

    [Fact]
    public void Base64NamedInput_String()
    {
        using var parsed = Parse(
            "{\"instances\": [ { \"default\": [ [{\"b64\":\"aGVsbG8=\"}], [{\"b64\":\"d29ybGQ=\"}] ] } ]}",
            Single(DataType.String, "default"));
        Assert.Equal([1L, 2, 1], parsed.Only.Shape);
        Assert.Equal(["hello", "world"], Strings(parsed.Only));
    }

    [Fact]
    public void FourNamedInputs_RowFormat()
    {
        var signature = Signature(("int_tensor", DataType.Int32), ("str_tensor", DataType.String),
            ("float_tensor", DataType.Float), ("dbl_tensor", DataType.Double));
        using var parsed = Parse(
            "{\"instances\": [" +
            "{\"int_tensor\":[[1,2],[3,4],[5,6]],\"str_tensor\":[\"foo\",\"bar\"],\"float_tensor\":[1.0,NaN],\"dbl_tensor\":[NaN]}," +
            "{\"int_tensor\":[[7,8],[9,0],[1,2]],\"str_tensor\":[\"baz\",\"bat\"],\"float_tensor\":[2.0,Infinity],\"dbl_tensor\":[2.0]}" +
            "]}", signature);
        Assert.Equal(["int_tensor", "str_tensor", "float_tensor", "dbl_tensor"], parsed.Inputs.Select(i => i.Key));
        Assert.Equal([2L, 3, 2], parsed["int_tensor"].Shape);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2], parsed["int_tensor"].AsSpan<int>().ToArray());
        Assert.Equal([2L, 2], parsed["str_tensor"].Shape);
        Assert.Equal(["foo", "bar", "baz", "bat"], Strings(parsed["str_tensor"]));
        Assert.Equal([2L, 2], parsed["float_tensor"].Shape);
        Assert.Equal([1f, float.NaN, 2f, float.PositiveInfinity], parsed["float_tensor"].AsSpan<float>().ToArray());
        Assert.Equal([2L, 1], parsed["dbl_tensor"].Shape);
        Assert.Equal([double.NaN, 2.0], parsed["dbl_tensor"].AsSpan<double>().ToArray());
    }

    [Theory]
    [InlineData("{\"inputs\": {\"int_tensor\": [[[1,2],[3,4],[5,6]]]}}")]
    [InlineData("{\"inputs\": [[[1,2],[3,4],[5,6]]]}")]
    public void ColumnarSingleInput_ObjectAndPlainEquivalent(string json)
    {
        using var parsed = Parse(json, Single(DataType.Int32, "int_tensor"));
        Assert.Equal(PredictRequestFormat.Columnar, parsed.Format);
        Assert.Equal([1L, 3, 2], parsed.Only.Shape);
        Assert.Equal([1, 2, 3, 4, 5, 6], parsed.Only.AsSpan<int>().ToArray());
    }

    [Fact]
    public void ColumnarMultipleInputs_IncludingScalarBase64()
    {
        var signature = Signature(("int_tensor", DataType.Int32), ("str_tensor", DataType.String),
            ("bin_tensor", DataType.String));
        using var parsed = Parse(
            "{\"inputs\": {\"int_tensor\": [[[1,2],[3,4],[5,6]]], \"str_tensor\": [\"foo\",\"bar\"], " +
            "\"bin_tensor\": {\"b64\":\"aGVsbG8=\"}, \"extra\": [1, 2]}}", signature);
        Assert.Equal([1L, 3, 2], parsed["int_tensor"].Shape);
        Assert.Equal([2L], parsed["str_tensor"].Shape);
        Assert.Equal(["foo", "bar"], Strings(parsed["str_tensor"]));
        Assert.Empty(parsed["bin_tensor"].Shape);
        Assert.Equal(["hello"], Strings(parsed["bin_tensor"]));
    }

    [Fact]
    public void InstancesRaggedSize_ExpectingTensorSize() =>
        Assert.Equal(
            "Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 3",
            FailMessage("{\"instances\": [[1,2],[3,4],[5,6,7]]}", Single(DataType.Int32)));

    [Fact]
    public void InstancesNestedDeeper_ExpectingShape() =>
        Assert.Equal(
            "Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [2] but got: [1,2]",
            FailMessage("{\"instances\": [[1,2],[3,4],[[5,6]]]}", Single(DataType.Int32)));

    [Fact]
    public void InstancesScalarThenList_ExpectingShape() =>
        Assert.Equal(
            "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [] but got: [1]",
            FailMessage("{\"instances\": [1, [1]]}", Single(DataType.Int32)));

    [Fact]
    public void InstancesWrongType_NotOfExpectedType() =>
        Assert.Equal(
            "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"a\" Type: String " +
            "is not of expected type: int32",
            FailMessage("{\"instances\": [[1,2],[\"a\",\"b\"]]}", Single(DataType.Int32)));

    // ---- envelope (steps 2-4) ----

    [Fact]
    public void EmptyBody_DocumentIsEmptyWithoutOffset() =>
        Assert.Equal("JSON Parse error: The document is empty", FailMessage("", Single(DataType.Float)));

    [Fact]
    public void WhitespaceBody_RapidJsonEmptyWithOffset() =>
        Assert.Equal("JSON Parse error: The document is empty. at offset: 2", FailMessage("  ", Single(DataType.Float)));

    [Fact]
    public void NotJson_InvalidValueAtOffsetZero() =>
        Assert.Equal("JSON Parse error: Invalid value. at offset: 0",
            FailMessage("instances = [1, 2]", Single(DataType.Float)));

    [Fact]
    public void SyntaxErrorLate_WinsOverSemanticErrors() =>
        Assert.Equal("JSON Parse error: Invalid value. at offset: 38",
            FailMessage("{\"signature_name\": 5, \"instances\": [1,]}", Single(DataType.Float)));

    [Theory]
    [InlineData("[1,2]", "JSON Value: [1, 2] Is not object")]
    [InlineData("\"x\"", "JSON Value: \"x\" Is not object")]
    [InlineData("2.0", "JSON Value: 2.0 Is not object")]
    [InlineData("null", "JSON Value: null Is not object")]
    public void RootNotObject_IsNotObject(string json, string message) =>
        Assert.Equal(message, FailMessage(json, Single(DataType.Float)));

    [Fact]
    public void SignatureNameNotString_WholeDocumentInMessage() =>
        Assert.Equal(
            "JSON Value: {\n    \"signature_name\": 5,\n    \"instances\": [1]\n} not formatted correctly. " +
            "'signature_name' key must be a string value.",
            FailMessage("{\"signature_name\": 5, \"instances\": [1]}", Single(DataType.Float)));

    [Fact]
    public void DuplicateKeys_FirstMemberWins()
    {
        using var parsed = Parse("{\"instances\": [1], \"instances\": \"x\", \"signature_name\": \"a\", " +
            "\"signature_name\": 7}", Single(DataType.Float));
        Assert.Equal("a", parsed.SignatureName);
        Assert.Equal([1f], parsed.Only.AsSpan<float>().ToArray());
        Assert.EndsWith("'signature_name' key must be a string value.",
            FailMessage("{\"signature_name\": 5, \"signature_name\": \"a\", \"instances\": [1]}", Single(DataType.Float)));
    }

    [Fact]
    public void EscapedKeyNames_MatchUnescaped()
    {
        using var parsed = Parse("{\"inst\\u0061nces\": [3]}", Single(DataType.Int64));
        Assert.Equal([3L], parsed.Only.AsSpan<long>().ToArray());
    }

    [Fact]
    public void TrailingBytesAfterRoot_Ignored()
    {
        using var parsed = Parse("{\"instances\": [1]} trailing garbage [", Single(DataType.Float));
        Assert.Equal([1L], parsed.Only.Shape);
    }

    [Fact]
    public void DeepNestingUnderUnrelatedKey_Parses()
    {
        const int depth = 500_000;
        var json = "{\"other\": " + new string('[', depth) + new string(']', depth) + ", \"instances\": [1.5]}";
        using var parsed = Parse(json, Single(DataType.Float));
        Assert.Equal([1.5f], parsed.Only.AsSpan<float>().ToArray());
    }

    [Fact]
    public void DeepNestingUnderSignatureName_StringValueError()
    {
        const int depth = 500_000;
        var json = "{\"signature_name\": " + new string('[', depth) + new string(']', depth) + ", \"instances\": [1]}";
        var message = FailMessage(json, Single(DataType.Float));
        Assert.StartsWith("JSON Value: {\n    \"signature_name\": [[[", message);
        Assert.EndsWith("[[[ not formatted correctly. 'signature_name' key must be a string value.", message);
        Assert.True(message.Length < 400);
    }

    // ---- steps 7-8 ----

    [Fact]
    public void SignatureWithoutInputs_FailedToGetInputMap()
    {
        var none = Signature();
        var body = "{\"instances\": [1]}"u8.ToArray();
        var envelope = PredictRequestParser.ParseEnvelope(body);
        var inputs = new List<KeyValuePair<string, Tensor>>();
        Assert.Equal("Failed to get input map for signature: DEFAULT", Assert.Throws<ServingException>(() =>
            PredictRequestParser.ParseInputs(body, envelope, none, null, inputs)).Message);
        Assert.Equal("Failed to get input map for signature: DEFAULT", Assert.Throws<ServingException>(() =>
            PredictRequestParser.ParseInputs(body, envelope, none, "", inputs)).Message);
        Assert.Equal("Failed to get input map for signature: sig", Assert.Throws<ServingException>(() =>
            PredictRequestParser.ParseInputs(body, envelope, none, "sig", inputs)).Message);
    }

    [Fact]
    public void BothKeys_OnlyOneExpected_TrailingSpace() =>
        Assert.Equal(
            "JSON Value: {\n    \"instances\": [1],\n    \"inputs\": [1]\n} Not formatted correctly expecting only one " +
            "of 'inputs' or 'instances' keys to exist ",
            FailMessage("{\"instances\": [1], \"inputs\": [1]}", Single(DataType.Float)));

    [Fact]
    public void NeitherKey_Missing() =>
        Assert.Equal("Missing 'inputs' or 'instances' key", FailMessage("{\"other\": 1}", Single(DataType.Float)));

    [Fact]
    public void InstancesNotArray_ExpectingList() =>
        Assert.Equal("JSON Value: {\n    \"instances\": 5\n} Expecting 'instances' to be an list/array",
            FailMessage("{\"instances\": 5}", Single(DataType.Float)));

    [Fact]
    public void InstancesEmpty_NoValues() =>
        Assert.Equal("JSON Value: {\n    \"instances\": []\n} No values in 'instances' array",
            FailMessage("{\"instances\": []}", Single(DataType.Float)));

    [Fact]
    public void InstancesPlainListWithTwoInputs_ExpectingObjects() =>
        Assert.Equal(
            "instances is a plain list, but expecting list of objects as multiple input tensors required as per " +
            "tensorinfo_map",
            FailMessage("{\"instances\": [1, 2]}", Signature(("a", DataType.Float), ("b", DataType.Float))));

    [Fact]
    public void InstancesObjectThenList_ExpectingObject() =>
        Assert.Equal("Expecting object but got list at item 1 of input list",
            FailMessage("{\"instances\": [{\"a\": 1, \"b\": 2}, [1]]}",
                Signature(("a", DataType.Float), ("b", DataType.Float))));

    [Fact]
    public void InstancesObjectThenBase64_ExpectingObject() =>
        Assert.Equal("Expecting object but got list at item 1 of input list",
            FailMessage("{\"instances\": [{\"a\": \"x\"}, {\"b64\": \"eA==\"}]}", Single(DataType.String, "a")));

    [Fact]
    public void InstancesValueThenObject_ExpectingValue() =>
        Assert.Equal("Expecting value/list but got object at item 1 of input list",
            FailMessage("{\"instances\": [1, {\"x\": 1}]}", Single(DataType.Float)));

    [Fact]
    public void InstancesUnknownKey_DoesNotHaveNamedInput() =>
        Assert.Equal(
            "Failed to process element: 0 key: c of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not " +
            "have named input: c",
            FailMessage("{\"instances\": [{\"a\": 1, \"c\": 2}]}",
                Signature(("b", DataType.Float), ("a", DataType.Float))));

    [Fact]
    public void InstancesMissingKey_KeysMustBeEqualSorted() =>
        Assert.Equal(
            "Failed to process element: 1 of 'instances' list. JSON object: {\n    \"b\": 3\n} keys must be equal to: a,b",
            FailMessage("{\"instances\": [{\"a\": 1, \"b\": 2}, {\"b\": 3}]}",
                Signature(("b", DataType.Float), ("a", DataType.Float))));

    [Fact]
    public void InstancesNamedElements_OutputInSignatureOrder()
    {
        using var parsed = Parse("{\"instances\": [{\"a\": 1, \"b\": [2, 3]}, {\"b\": [4, 5], \"a\": 6}]}",
            Signature(("b", DataType.Int64), ("a", DataType.Int64)));
        Assert.Equal(["b", "a"], parsed.Inputs.Select(i => i.Key));
        Assert.Equal([2L, 2], parsed["b"].Shape);
        Assert.Equal([2L, 3, 4, 5], parsed["b"].AsSpan<long>().ToArray());
        Assert.Equal([2L], parsed["a"].Shape);
        Assert.Equal([1L, 6], parsed["a"].AsSpan<long>().ToArray());
    }

    [Fact]
    public void InstancesRepeatedKeyInElement_FirstValuesKeptLikeTensorFromProto()
    {
        // TF appends both values to the proto; Tensor::FromProto then keeps the first batch-size values.
        using var parsed = Parse("{\"instances\": [{\"x\": 1, \"x\": 2}, {\"x\": 3}]}", Single(DataType.Int32));
        Assert.Equal([2L], parsed.Only.Shape);
        Assert.Equal([1, 2], parsed.Only.AsSpan<int>().ToArray());
    }

    [Fact]
    public void InstancesKeyWithNul_TruncatedLikeCString()
    {
        using var parsed = Parse("{\"instances\": [{\"x\\u0000junk\": 1}]}", Single(DataType.Int32));
        Assert.Equal([1], parsed.Only.AsSpan<int>().ToArray());
    }

    [Fact]
    public void ColumnarMissingNamedInput() =>
        Assert.Equal("Missing named input: b in 'inputs' object.",
            FailMessage("{\"inputs\": {\"a\": 1, \"c\": 2}}", Signature(("a", DataType.Float), ("b", DataType.Float))));

    [Fact]
    public void ColumnarPlainWithTwoInputs_ExpectingObject() =>
        Assert.Equal(
            "inputs is a plain value/list, but expecting an object as multiple input tensors required as per " +
            "tensorinfo_map",
            FailMessage("{\"inputs\": {\"b64\": \"eA==\"}}", Signature(("a", DataType.String), ("b", DataType.String))));

    [Fact]
    public void ColumnarScalar_RankZero()
    {
        using var parsed = Parse("{\"inputs\": 7}", Single(DataType.Int32));
        Assert.Empty(parsed.Only.Shape);
        Assert.Equal([7], parsed.Only.AsSpan<int>().ToArray());
    }

    [Fact]
    public void ColumnarEmptyList_EmptyTensor()
    {
        using var parsed = Parse("{\"inputs\": [[], []]}", Single(DataType.Float));
        Assert.Equal([2L, 0], parsed.Only.Shape);
        Assert.Equal(0, parsed.Only.ElementCount);
    }

    // ---- ragged lists (FillTensorProto) ----

    [Fact]
    public void RaggedList_UnexpectedSize() =>
        Assert.Equal("Encountered list at unexpected size: 1 at level: 1 expected size: 2",
            FailMessage("{\"inputs\": [[1,2],[3]]}", Single(DataType.Int32)));

    [Fact]
    public void ListTooDeep_UnexpectedLevel() =>
        Assert.Equal("Encountered list at unexpected level: 2 expected < 2",
            FailMessage("{\"inputs\": [[1,2],[3,[4]]]}", Single(DataType.Int32)));

    [Fact]
    public void ScalarAboveLeaves_IncorrectLevel() =>
        Assert.Equal("JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2",
            FailMessage("{\"inputs\": [[1,2],3]}", Single(DataType.Int32)));

    [Fact]
    public void SizeCheckedBeforeElements_SizeErrorWinsOverTypeError() =>
        Assert.Equal("Encountered list at unexpected size: 3 at level: 1 expected size: 2",
            FailMessage("{\"inputs\": [[1,2],[3,\"a\",5]]}", Single(DataType.Int32)));

    [Fact]
    public void NestingBeyondMaxRank_Rejected()
    {
        var depth = 300;
        var message = FailMessage("{\"inputs\": " + new string('[', depth) + "1" + new string(']', depth) + "}",
            Single(DataType.Int32));
        Assert.EndsWith("is nested deeper than the maximum tensor rank of 254", message);
    }

    [Fact]
    public void NestingAtMaxRank_Accepted()
    {
        const int depth = 254;
        using var parsed = Parse("{\"inputs\": " + new string('[', depth) + "1" + new string(']', depth) + "}",
            Single(DataType.Int32));
        Assert.Equal(depth, parsed.Only.Rank);
    }

    // ---- element conversion per dtype ----

    [Fact]
    public void Float_CastFromDoubleAndIntegers()
    {
        using var parsed = Parse(
            "{\"inputs\": [1435774380, 1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308, " +
            "NaN, -NaN, Inf, -Inf, Infinity, -Infinity, -0]}", Single(DataType.Float));
        var values = parsed.Only.AsSpan<float>().ToArray();
        Assert.Equal(1435774336f, values[0]);
        Assert.Equal(float.PositiveInfinity, values[1]);
        Assert.Equal(float.NegativeInfinity, values[2]);
        Assert.Equal(0f, values[3]);
        Assert.True(float.IsNaN(values[4]) && float.IsNaN(values[5]));
        Assert.Equal([float.PositiveInfinity, float.NegativeInfinity, float.PositiveInfinity, float.NegativeInfinity],
            values[6..10]);
        Assert.False(float.IsNegative(values[10])); // "-0" is RapidJSON's int 0
    }

    [Fact]
    public void Double_AnyNumber()
    {
        using var parsed = Parse("{\"inputs\": [0.1, 3, -9223372036854775808, 18446744073709551615]}",
            Single(DataType.Double));
        Assert.Equal([0.1, 3.0, -9223372036854775808.0, 18446744073709551615.0], parsed.Only.AsSpan<double>().ToArray());
    }

    [Fact]
    public void Int8_WrapsWithoutRangeCheck()
    {
        using var parsed = Parse("{\"inputs\": [200, -129, 127, 2147483647]}", Single(DataType.Int8));
        Assert.Equal([(sbyte)-56, (sbyte)127, (sbyte)127, (sbyte)-1], parsed.Only.AsSpan<sbyte>().ToArray());
    }

    [Fact]
    public void UInt8AndInt16_Wrap()
    {
        using (var parsed = Parse("{\"inputs\": [-1, 256, 255]}", Single(DataType.UInt8)))
        {
            Assert.Equal([(byte)255, (byte)0, (byte)255], parsed.Only.AsSpan<byte>().ToArray());
        }
        using (var parsed = Parse("{\"inputs\": [40000, -1]}", Single(DataType.Int16)))
        {
            Assert.Equal([(short)-25536, (short)-1], parsed.Only.AsSpan<short>().ToArray());
        }
    }

    [Theory]
    [InlineData("2.0", "2.0", "Number")]
    [InlineData("2147483648", "2147483648", "Number")]
    [InlineData("-2147483649", "-2147483649", "Number")]
    [InlineData("1e2", "100.0", "Number")]
    [InlineData("true", "true", "True")]
    [InlineData("false", "false", "False")]
    [InlineData("null", "null", "Null")]
    [InlineData("\"1\"", "\"1\"", "String")]
    public void Int32_OnlyInt32RangeIntegers(string token, string dbg, string jsonType) =>
        Assert.Equal($"JSON Value: {dbg} Type: {jsonType} is not of expected type: int32",
            FailMessage("{\"inputs\": [" + token + "]}", Single(DataType.Int32)));

    [Fact]
    public void Int32_Limits()
    {
        using var parsed = Parse("{\"inputs\": [-2147483648, 2147483647, -0]}", Single(DataType.Int32));
        Assert.Equal([int.MinValue, int.MaxValue, 0], parsed.Only.AsSpan<int>().ToArray());
    }

    [Fact]
    public void Int64_Range()
    {
        using (var parsed = Parse("{\"inputs\": [-9223372036854775808, 9223372036854775807, 1]}", Single(DataType.Int64)))
        {
            Assert.Equal([long.MinValue, long.MaxValue, 1L], parsed.Only.AsSpan<long>().ToArray());
        }
        Assert.Equal("JSON Value: 9223372036854775808 Type: Number is not of expected type: int64",
            FailMessage("{\"inputs\": [9223372036854775808]}", Single(DataType.Int64)));
    }

    [Fact]
    public void UInt32_Range()
    {
        using (var parsed = Parse("{\"inputs\": [0, 4294967295]}", Single(DataType.UInt32)))
        {
            Assert.Equal([0u, uint.MaxValue], parsed.Only.AsSpan<uint>().ToArray());
        }
        Assert.Equal("JSON Value: 4294967296 Type: Number is not of expected type: uint32",
            FailMessage("{\"inputs\": [4294967296]}", Single(DataType.UInt32)));
        Assert.Equal("JSON Value: -1 Type: Number is not of expected type: uint32",
            FailMessage("{\"inputs\": [-1]}", Single(DataType.UInt32)));
    }

    [Fact]
    public void UInt64_MaxAccepted_NegativeRejected()
    {
        using (var parsed = Parse("{\"inputs\": [18446744073709551615, 0]}", Single(DataType.UInt64)))
        {
            Assert.Equal([ulong.MaxValue, 0UL], parsed.Only.AsSpan<ulong>().ToArray());
        }
        Assert.Equal("JSON Value: -1 Type: Number is not of expected type: uint64",
            FailMessage("{\"inputs\": [-1]}", Single(DataType.UInt64)));
        Assert.Equal("JSON Value: 18446744073709552000.0 Type: Number is not of expected type: uint64",
            FailMessage("{\"inputs\": [18446744073709551616]}", Single(DataType.UInt64)));
    }

    [Fact]
    public void Bool_OnlyTrueFalse()
    {
        using (var parsed = Parse("{\"inputs\": [true, false]}", Single(DataType.Bool)))
        {
            Assert.Equal([(byte)1, (byte)0], parsed.Only.AsSpan<byte>().ToArray());
        }
        Assert.Equal("JSON Value: 1 Type: Number is not of expected type: bool",
            FailMessage("{\"inputs\": [1]}", Single(DataType.Bool)));
    }

    [Fact]
    public void String_EscapesDecodedRawBytesKept()
    {
        var body = Encoding.UTF8.GetBytes("{\"inputs\": [\"a\\nb\\u00e9\", \"\", \"x\"]}").ToList();
        body.InsertRange(body.LastIndexOf((byte)'x'), [0xFF, 0xFE]); // invalid UTF-8 passes through
        using var parsed = Parse(body.ToArray(), Single(DataType.String));
        Assert.Equal([3L], parsed.Only.Shape);
        Assert.Equal("a\nb\u00e9"u8.ToArray(), parsed.Only.GetString(0).ToArray());
        Assert.Equal(0, parsed.Only.GetString(1).Length);
        Assert.Equal(new byte[] { 0xFF, 0xFE, (byte)'x' }, parsed.Only.GetString(2).ToArray());
    }

    [Fact]
    public void Float_StringValue_TypeError() =>
        Assert.Equal("JSON Value: \"x\" Type: String is not of expected type: float",
            FailMessage("{\"inputs\": [\"x\"]}", Single(DataType.Float)));

    [Fact]
    public void Base64ObjectForFloat_TypeObject() =>
        Assert.Equal("JSON Value: {\n    \"b64\": \"aGVsbG8=\"\n} Type: Object is not of expected type: float",
            FailMessage("{\"inputs\": [{\"b64\": \"aGVsbG8=\"}]}", Single(DataType.Float)));

    [Theory]
    [InlineData("{\"b64\": 1}", "{\n    \"b64\": 1\n}")]
    [InlineData("{\"b64\": \"eA==\", \"z\": 1}", "{\n    \"b64\": \"eA==\",\n    \"z\": 1\n}")]
    [InlineData("{\"B64\": \"eA==\"}", "{\n    \"B64\": \"eA==\"\n}")]
    [InlineData("{}", "{}")]
    public void StringObjectNotBase64_NotFormattedCorrectly(string value, string dbg) =>
        Assert.Equal($"JSON Value: {dbg} not formatted correctly for base64 data",
            FailMessage("{\"inputs\": [" + value + "]}", Single(DataType.String)));

    [Theory]
    [InlineData("!!!!")]
    [InlineData("eAxyz")]
    [InlineData("eA=")]
    [InlineData("eA==x")]
    [InlineData("e")]
    public void Base64Invalid_UnableToDecode(string encoded)
    {
        Assert.Equal("Unable to base64 decode",
            FailMessage("{\"inputs\": {\"b64\": \"" + encoded + "\"}}", Single(DataType.String)));
    }

    [Theory]
    [InlineData("aGVsbG8=", "hello")]
    [InlineData("aGVsbG8", "hello")]
    [InlineData(" aGVs\\nbG8 = ", "hello")]
    [InlineData("aGVsbA==", "hell")]
    [InlineData("aGVsbA", "hell")]
    [InlineData("", "")]
    [InlineData("aGVsbA..", "hell")]
    public void Base64Valid_AbslRules(string encoded, string expected)
    {
        using var parsed = Parse("{\"inputs\": {\"b64\": \"" + encoded + "\"}}", Single(DataType.String));
        Assert.Equal(Encoding.ASCII.GetBytes(expected), parsed.Only.GetString(0).ToArray());
    }

    [Fact]
    public void UnsupportedDtype_Unimplemented()
    {
        var e = Fail("{\"inputs\": [1.5]}", Single(DataType.Half), ErrorCode.Unimplemented);
        Assert.Equal("Conversion of JSON Value: 1.5 to type: half", e.Message);
    }

    [Fact]
    public void UnsupportedDtypeInRowFormat_WrappedAsInvalidArgument() =>
        Assert.Equal(
            "Failed to process element: 0 of 'instances' list. Error: UNIMPLEMENTED: Conversion of JSON Value: 1 to " +
            "type: complex64",
            FailMessage("{\"instances\": [1]}", Single(DataType.Complex64)));

    [Fact]
    public void NanForInt_DebugTextStopsAtNaN() =>
        Assert.Equal("JSON Value:  Type: Number is not of expected type: int32",
            FailMessage("{\"inputs\": [NaN]}", Single(DataType.Int32)));

    // ---- cleanup ----

    [Fact]
    public void Failure_ListUntouchedAndNothingAppended()
    {
        var body = "{\"inputs\": {\"a\": [1, 2], \"b\": [\"x\"]}}"u8.ToArray();
        var signature = Signature(("a", DataType.Float), ("b", DataType.Float));
        var envelope = PredictRequestParser.ParseEnvelope(body);
        using var existing = Tensor.FromValues(DataType.Float, [1], [5f]);
        var inputs = new List<KeyValuePair<string, Tensor>> { new("pre", existing) };
        Assert.Throws<ServingException>(() => PredictRequestParser.ParseInputs(body, envelope, signature, null, inputs));
        Assert.Equal("pre", Assert.Single(inputs).Key);
        Assert.Equal([5f], existing.AsSpan<float>().ToArray()); // not disposed
    }

    [Fact]
    public void Success_AppendsAfterExistingEntries()
    {
        var body = "{\"inputs\": [1, 2]}"u8.ToArray();
        var envelope = PredictRequestParser.ParseEnvelope(body);
        using var existing = Tensor.FromValues(DataType.Float, [1], [5f]);
        var inputs = new List<KeyValuePair<string, Tensor>> { new("pre", existing) };
        PredictRequestParser.ParseInputs(body, envelope, Single(DataType.Float), null, inputs);
        Assert.Equal(["pre", "x"], inputs.Select(i => i.Key));
        inputs[1].Value.Dispose();
    }

    private static string[] Strings(Tensor tensor) =>
        Enumerable.Range(0, tensor.ElementCount).Select(i => Encoding.UTF8.GetString(tensor.GetString(i))).ToArray();
}
