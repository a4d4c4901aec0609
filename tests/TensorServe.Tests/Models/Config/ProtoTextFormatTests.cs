using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using TensorServe.Models.Config;
using TensorServe.Tests.Models.Config.Protos;
using Syntax = Google.Protobuf.WellKnownTypes.Syntax;
using Type = Google.Protobuf.WellKnownTypes.Type;

namespace TensorServe.Tests.Models.Config;

/// <summary>What the parser accepts: every grammar rule of protobuf's C++ text format, checked against messages built
/// by hand.</summary>
public class ProtoTextFormatTests
{
    [Fact]
    public void Parse_WellKnownTypeWithEveryShape_EqualsHandBuilt()
    {
        const string text = """
            # A google.protobuf.Type as a config file would write it.
            name: "tensorflow.Example"   # trailing comment
            fields {
              kind: TYPE_STRING
              cardinality: CARDINALITY_REPEATED
              number: 1
              name: 'features'
              type_url: "type.googleapis.com/tensorflow.Features"
              json_name: "features",
              options < name: "deprecated" >;
              packed: true
            }
            fields: { kind: 3 cardinality: CARDINALITY_OPTIONAL number: 0x2 name: "id" oneof_index: -1 }
            oneofs: ["a", 'b']
            oneofs: "c"
            options { name: "raw" value { type_url: "type.googleapis.com/google.protobuf.Int32Value" value: "\010\005" } }
            source_context { file_name: "a.proto" }
            syntax: SYNTAX_PROTO3
            """;

        var expected = new Type
        {
            Name = "tensorflow.Example",
            Fields =
            {
                new Field
                {
                    Kind = Field.Types.Kind.TypeString,
                    Cardinality = Field.Types.Cardinality.Repeated,
                    Number = 1,
                    Name = "features",
                    TypeUrl = "type.googleapis.com/tensorflow.Features",
                    JsonName = "features",
                    Options = { new Option { Name = "deprecated" } },
                    Packed = true,
                },
                new Field
                {
                    Kind = Field.Types.Kind.TypeInt64,
                    Cardinality = Field.Types.Cardinality.Optional,
                    Number = 2,
                    Name = "id",
                    OneofIndex = -1,
                },
            },
            Oneofs = { "a", "b", "c" },
            Options = { new Option { Name = "raw", Value = Any.Pack(new Int32Value { Value = 5 }) } },
            SourceContext = new SourceContext { FileName = "a.proto" },
            Syntax = Syntax.Proto3,
        };

        Assert.Equal(expected, ProtoTextFormat.Parse<Type>(text));
    }

    [Fact]
    public void Parse_EmptyOrCommentsOnly_DefaultMessage()
    {
        Assert.Equal(new Type(), ProtoTextFormat.Parse<Type>(""));
        Assert.Equal(new Type(), ProtoTextFormat.Parse<Type>("  \n\t# only a comment"));
    }

    [Fact]
    public void Parse_AllScalarTypes_Values()
    {
        const string text = """
            i32: -2147483648 i64: -9223372036854775808 u32: 4294967295 u64: 18446744073709551615
            s32: -7 s64: 0x7fffffffffffffff f32: 017 f64: 0XFF sf32: -0x80000000 sf64: -1
            fl: 1.5f db: -2.5e-3 b: t s: "x" by: "\xff\x00" color: GREEN
            """;

        var expected = new AllTypes
        {
            I32 = int.MinValue,
            I64 = long.MinValue,
            U32 = uint.MaxValue,
            U64 = ulong.MaxValue,
            S32 = -7,
            S64 = long.MaxValue,
            F32 = 15,
            F64 = 255,
            Sf32 = int.MinValue,
            Sf64 = -1,
            Fl = 1.5f,
            Db = -2.5e-3,
            B = true,
            S = "x",
            By = ByteString.CopyFrom(0xFF, 0x00),
            Color = AllTypes.Types.Color.Green,
        };
        Assert.Equal(expected, ProtoTextFormat.Parse<AllTypes>(text));
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("t", true)]
    [InlineData("1", true)]
    [InlineData("0x1", true)]
    [InlineData("false", false)]
    [InlineData("False", false)]
    [InlineData("f", false)]
    [InlineData("0", false)]
    public void Parse_BoolForms_Value(string literal, bool expected)
    {
        Assert.Equal(expected, ProtoTextFormat.Parse<BoolValue>($"value: {literal}").Value);
    }

    [Theory]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("-inf", double.NegativeInfinity)]
    [InlineData("Infinity", double.PositiveInfinity)]
    [InlineData("-INF", double.NegativeInfinity)]
    [InlineData("1e400", double.PositiveInfinity)]
    [InlineData(".5", 0.5)]
    [InlineData("5.", 5.0)]
    [InlineData("2", 2.0)]
    [InlineData("- 3", -3.0)]
    [InlineData("1e3", 1000.0)]
    [InlineData("2.5E+2", 250.0)]
    [InlineData("7f", 7.0)]
    [InlineData("1.25F", 1.25)]
    [InlineData("99999999999999999999999", 99999999999999999999999d)]
    public void Parse_DoubleForms_Value(string literal, double expected)
    {
        Assert.Equal(expected, ProtoTextFormat.Parse<DoubleValue>($"value: {literal}").Value);
    }

    [Fact]
    public void Parse_DoubleNanAndNegativeZero_Values()
    {
        Assert.True(double.IsNaN(ProtoTextFormat.Parse<DoubleValue>("value: nan").Value));
        Assert.True(double.IsNaN(ProtoTextFormat.Parse<DoubleValue>("value: -NaN").Value));
        Assert.True(double.IsNegative(ProtoTextFormat.Parse<DoubleValue>("value: -0").Value));
    }

    [Theory]
    [InlineData("1e39", float.PositiveInfinity)]
    [InlineData("-3.5e38", float.NegativeInfinity)]
    [InlineData("0.1", 0.1f)]
    [InlineData("-inf", float.NegativeInfinity)]
    public void Parse_FloatForms_Value(string literal, float expected)
    {
        Assert.Equal(expected, ProtoTextFormat.Parse<FloatValue>($"value: {literal}").Value);
    }

    [Theory]
    [InlineData("2147483647", int.MaxValue)]
    [InlineData("-2147483648", int.MinValue)]
    [InlineData("0x7FFFFFFF", int.MaxValue)]
    [InlineData("-0x80000000", int.MinValue)]
    [InlineData("0", 0)]
    [InlineData("00", 0)]
    [InlineData("0777", 511)]
    [InlineData("-017", -15)]
    public void Parse_Int32Forms_Value(string literal, int expected)
    {
        Assert.Equal(expected, ProtoTextFormat.Parse<Int32Value>($"value: {literal}").Value);
    }

    [Fact]
    public void Parse_UnsignedAndInt64Wrappers_Values()
    {
        Assert.Equal(uint.MaxValue, ProtoTextFormat.Parse<UInt32Value>("value: 0xffffffff").Value);
        Assert.Equal(ulong.MaxValue, ProtoTextFormat.Parse<UInt64Value>("value: 01777777777777777777777").Value);
        Assert.Equal(long.MinValue, ProtoTextFormat.Parse<Int64Value>("value: -9223372036854775808").Value);
    }

    [Fact]
    public void Parse_StringEscapes_Unescaped()
    {
        const string text = """value: "\n\t\r\\\'\"\?\a\b\f\v|\101\60\0|\x41\xa|\u00e9\U0001F600\ud83d\ude00|caf\303\251" """;

        Assert.Equal("\n\t\r\\'\"?\a\b\f\v|A0\0|A\n|é😀😀|café", ProtoTextFormat.Parse<StringValue>(text).Value);
    }

    [Fact]
    public void Parse_SingleQuotedStringWithDoubleQuote_Kept()
    {
        Assert.Equal("say \"hi\" it's", ProtoTextFormat.Parse<StringValue>("""value: 'say "hi" it\'s'""").Value);
    }

    [Fact]
    public void Parse_AdjacentStringLiterals_Concatenated()
    {
        const string text = """
            value: "multi"
              'line' # comment between parts
              "" "string"
            """;

        Assert.Equal("multilinestring", ProtoTextFormat.Parse<StringValue>(text).Value);
    }

    [Fact]
    public void Parse_NonAsciiInString_KeptAsUtf8()
    {
        Assert.Equal("modèle 模型", ProtoTextFormat.Parse<StringValue>("value: \"modèle 模型\"").Value);
    }

    [Fact]
    public void Parse_BytesEscapes_RawBytes()
    {
        var value = ProtoTextFormat.Parse<BytesValue>("""value: "\377\x80\0a" 'b\u00e9'""").Value;

        Assert.Equal([0xFF, 0x80, 0x00, (byte)'a', (byte)'b', 0xC3, 0xA9], value.ToByteArray());
    }

    [Fact]
    public void Parse_OctalEscapeAbove255_TruncatedToByte()
    {
        // protobuf pushes static_cast<char>(0777).
        Assert.Equal([0xFF], ProtoTextFormat.Parse<BytesValue>("""value: "\777" """).Value.ToByteArray());
    }

    [Fact]
    public void Parse_MessageSyntaxVariants_SameResult()
    {
        var expected = new Type { SourceContext = new SourceContext { FileName = "f" } };

        Assert.Equal(expected, ProtoTextFormat.Parse<Type>("source_context { file_name: 'f' }"));
        Assert.Equal(expected, ProtoTextFormat.Parse<Type>("source_context: { file_name: 'f' }"));
        Assert.Equal(expected, ProtoTextFormat.Parse<Type>("source_context < file_name: 'f' >"));
        Assert.Equal(expected, ProtoTextFormat.Parse<Type>("source_context:<file_name:'f';>,"));
        Assert.Equal(expected, ProtoTextFormat.Parse<Type>("source_context{file_name:\"f\"}"));
    }

    [Fact]
    public void Parse_EmptySubMessage_FieldIsSet()
    {
        var parsed = ProtoTextFormat.Parse<Type>("source_context {}");

        Assert.NotNull(parsed.SourceContext);
        Assert.Equal(new SourceContext(), parsed.SourceContext);
    }

    [Fact]
    public void Parse_Separators_CommaAndSemicolonOptional()
    {
        var expected = new FieldMask { Paths = { "a", "b", "c", "d" } };

        Assert.Equal(expected, ProtoTextFormat.Parse<FieldMask>("paths: 'a', paths: 'b'; paths: 'c' paths: 'd',"));
    }

    [Fact]
    public void Parse_RepeatedEntriesAndListSyntax_Appended()
    {
        const string text = """
            ri32: 1 ri32: [2, 0x3, -4] ri32: []
            rs: ["a" "b", 'c'] rs: "d"
            rnested [{ a: 1 }, < a: 2 >] rnested: { name: "n" } rnested: []
            rcolor: [RED, 2, 7]
            rdb: [inf, -1.5, 3]
            """;

        var expected = new AllTypes
        {
            Ri32 = { 1, 2, 3, -4 },
            Rs = { "ab", "c", "d" },
            Rnested =
            {
                new AllTypes.Types.Nested { A = 1 },
                new AllTypes.Types.Nested { A = 2 },
                new AllTypes.Types.Nested { Name = "n" },
            },
            Rcolor = { AllTypes.Types.Color.Red, AllTypes.Types.Color.Green, (AllTypes.Types.Color)7 },
            Rdb = { double.PositiveInfinity, -1.5, 3 },
        };
        Assert.Equal(expected, ProtoTextFormat.Parse<AllTypes>(text));
    }

    [Fact]
    public void Parse_EnumByNameNumberAndUnknownOpenNumber_Values()
    {
        Assert.Equal(Field.Types.Kind.TypeBool, ProtoTextFormat.Parse<Field>("kind: TYPE_BOOL").Kind);
        Assert.Equal(Field.Types.Kind.TypeBool, ProtoTextFormat.Parse<Field>("kind: 8").Kind);
        // proto3 enums are open: an unknown number is kept.
        Assert.Equal((Field.Types.Kind)99, ProtoTextFormat.Parse<Field>("kind: 99").Kind);
        Assert.Equal((Field.Types.Kind)(-5), ProtoTextFormat.Parse<Field>("kind: -5").Kind);
    }

    [Fact]
    public void Parse_ClosedEnumKnownValue_Accepted()
    {
        var parsed = ProtoTextFormat.Parse<FieldDescriptorProto>("name: 'x' type: TYPE_STRING label: 3");

        Assert.Equal(FieldDescriptorProto.Types.Type.String, parsed.Type);
        Assert.Equal(FieldDescriptorProto.Types.Label.Repeated, parsed.Label);
        Assert.True(parsed.HasName);
    }

    [Fact]
    public void Parse_MapEntries_Inserted()
    {
        const string text = """
            labels { key: 1 value: "stable" }
            labels { value: "zero-key" }
            labels: [{ key: -2 value: "canary" }, { key: 1 value: "stable2" }]
            nested_map { key: "m" value { a: 5 } }
            nested_map { key: "empty" }
            bool_map { key: true value: 1 } bool_map { key: false value: 2 }
            wrapped_map { key: "w" value { value: 9 } } wrapped_map { key: "none" }
            """;

        var expected = new AllTypes
        {
            Labels = { [1] = "stable2", [0] = "zero-key", [-2] = "canary" },
            NestedMap =
            {
                ["m"] = new AllTypes.Types.Nested { A = 5 },
                ["empty"] = new AllTypes.Types.Nested(),
            },
            BoolMap = { [true] = 1, [false] = 2 },
            WrappedMap = { ["w"] = 9, ["none"] = 0 },
        };
        Assert.Equal(expected, ProtoTextFormat.Parse<AllTypes>(text));
    }

    [Fact]
    public void Parse_StructAndValue_MapOfOneofValues()
    {
        const string text = """
            fields { key: "n" value { number_value: 1.5 } }
            fields { key: "s" value { string_value: "x" } }
            fields { key: "b" value { bool_value: true } }
            fields { key: "z" value { null_value: NULL_VALUE } }
            fields {
              key: "l"
              value { list_value { values { number_value: 1 } values { struct_value { } } } }
            }
            """;

        var expected = new Struct
        {
            Fields =
            {
                ["n"] = Value.ForNumber(1.5),
                ["s"] = Value.ForString("x"),
                ["b"] = Value.ForBool(true),
                ["z"] = Value.ForNull(),
                ["l"] = Value.ForList(Value.ForNumber(1), Value.ForStruct(new Struct())),
            },
        };
        Assert.Equal(expected, ProtoTextFormat.Parse<Struct>(text));
    }

    [Fact]
    public void Parse_OneofMembers_CaseSet()
    {
        var message = ProtoTextFormat.Parse<AllTypes>("choice_nested { a: 3 }");
        Assert.Equal(AllTypes.ChoiceOneofCase.ChoiceNested, message.ChoiceCase);
        Assert.Equal(3, message.ChoiceNested.A);

        var empty = ProtoTextFormat.Parse<AllTypes>("choice_s: ''");
        Assert.Equal(AllTypes.ChoiceOneofCase.ChoiceS, empty.ChoiceCase);
    }

    [Fact]
    public void Parse_WrapperTypedFields_UnwrappedValues()
    {
        var message = ProtoTextFormat.Parse<AllTypes>(
            "max_batch_size { value: 128 } name_wrapper {} allowed: [{ value: 1 }, { value: -2 }]");

        Assert.Equal(128L, message.MaxBatchSize);
        Assert.Equal("", message.NameWrapper);
        Assert.Equal([1L, -2L], message.Allowed);
        Assert.Null(ProtoTextFormat.Parse<AllTypes>("").MaxBatchSize);
    }

    [Fact]
    public void Parse_Proto3OptionalZero_Present()
    {
        var message = ProtoTextFormat.Parse<AllTypes>("opt: 0");

        Assert.True(message.HasOpt);
        Assert.Equal(0, message.Opt);
    }

    [Fact]
    public void Parse_ScalarSetToDefaultTwice_AllowedLikeProtobuf()
    {
        // Without presence a default value does not count as set, so protobuf accepts a second occurrence.
        Assert.Equal(5, ProtoTextFormat.Parse<AllTypes>("i32: 0 i32: 5").I32);
        Assert.Equal("b", ProtoTextFormat.Parse<AllTypes>("s: '' s: 'b'").S);
    }

    [Fact]
    public void Parse_Duration_WellKnownTypeFields()
    {
        Assert.Equal(new Duration { Seconds = 30, Nanos = 500_000_000 },
            ProtoTextFormat.Parse<Duration>("seconds: 30 nanos: 500000000"));
    }

    [Fact]
    public void Parse_ApiWithMethods_EqualsHandBuilt()
    {
        const string text = """
            name: "tensorflow.serving.PredictionService"
            methods {
              name: "Predict" request_type_url: "type.googleapis.com/tensorflow.serving.PredictRequest"
              response_type_url: "type.googleapis.com/tensorflow.serving.PredictResponse"
              request_streaming: false response_streaming: False
            }
            methods < name: "Stream" request_streaming: true >
            version: "v1"
            mixins [{ name: "a" root: "r" }]
            """;

        var expected = new Api
        {
            Name = "tensorflow.serving.PredictionService",
            Methods =
            {
                new Method
                {
                    Name = "Predict",
                    RequestTypeUrl = "type.googleapis.com/tensorflow.serving.PredictRequest",
                    ResponseTypeUrl = "type.googleapis.com/tensorflow.serving.PredictResponse",
                },
                new Method { Name = "Stream", RequestStreaming = true },
            },
            Version = "v1",
            Mixins = { new Mixin { Name = "a", Root = "r" } },
        };
        Assert.Equal(expected, ProtoTextFormat.Parse<Api>(text));
    }

    [Fact]
    public void Parse_ExpandedAnyReachableType_Packed()
    {
        var parsed = ProtoTextFormat.Parse<Type>(
            "options { name: 'o' value { [type.googleapis.com/google.protobuf.SourceContext] { file_name: 'x' } } }");

        Assert.Equal(Any.Pack(new SourceContext { FileName = "x" }), parsed.Options[0].Value);
    }

    [Fact]
    public void Parse_ExpandedAnyWithRegistryAndColon_Packed()
    {
        var registry = TypeRegistry.FromMessages(Int32Value.Descriptor);
        var parsed = ProtoTextFormat.Parse<AllTypes>(
            "any: { [example.com/x/google.protobuf.Int32Value]: < value: 7 > }", registry);

        Assert.Equal("example.com/x/google.protobuf.Int32Value", parsed.Any.TypeUrl);
        Assert.Equal(new Int32Value { Value = 7 }, parsed.Any.Unpack<Int32Value>());
    }

    [Fact]
    public void Parse_ExpandedAnyImportedType_Packed()
    {
        // duration.proto is imported by the test file, so Duration is found without a registry.
        var parsed = ProtoTextFormat.Parse<AllTypes>(
            "any { [type.googleapis.com/google.protobuf.Duration] { seconds: 2 } }");

        Assert.Equal(new Duration { Seconds = 2 }, parsed.Any.Unpack<Duration>());
    }

    [Fact]
    public void Parse_ReservedFieldName_Skipped()
    {
        var parsed = ProtoTextFormat.Parse<AllTypes>(
            "old_field: 5 i32: 1 old_field { x: [1, 'a', { y: -inf }] z < > } old_field: -nan; s: 'k'");

        Assert.Equal(new AllTypes { I32 = 1, S = "k" }, parsed);
    }

    [Fact]
    public void Parse_Proto2RequiredAndGroup_Values()
    {
        var parsed = ProtoTextFormat.Parse<Legacy>("id: 1 kind: KIND_B Grp { x: 4 } children { id: 2 grp { x: 5 } }");

        Assert.Equal(1, parsed.Id);
        Assert.Equal(Legacy.Types.Kind.B, parsed.Kind);
        Assert.Equal(4, parsed.Grp.X);
        Assert.Equal(5, parsed.Children[0].Grp.X);
    }

    [Fact]
    public void Parse_NonGenericDescriptorOverload_SameAsGeneric()
    {
        const string text = "paths: 'a.b' paths: 'c'";

        var viaDescriptor = ProtoTextFormat.Parse(text, FieldMask.Descriptor);
        var viaParser = ProtoTextFormat.Parse(text, FieldMask.Parser);

        Assert.IsType<FieldMask>(viaDescriptor);
        Assert.Equal(ProtoTextFormat.Parse<FieldMask>(text), viaDescriptor);
        Assert.Equal(viaDescriptor, viaParser);
    }

    [Fact]
    public void Parse_CrlfAndTabs_Accepted()
    {
        Assert.Equal(new FieldMask { Paths = { "a", "b" } },
            ProtoTextFormat.Parse<FieldMask>("paths:\t'a'\r\n\tpaths: 'b'\r\n"));
    }
}
