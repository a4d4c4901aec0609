using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using TensorServe.Models.Config;
using TensorServe.Tests.Models.Config.Protos;
using Type = Google.Protobuf.WellKnownTypes.Type;

namespace TensorServe.Tests.Models.Config;

/// <summary>
/// What the parser rejects, with protobuf's exact text and position: line is 1-based, column is protobuf's 0-based
/// byte column (tabs to multiples of 8) plus one, taken at the token the parser was looking at when it failed.
/// </summary>
public class ProtoTextFormatErrorTests
{
    private static string Error<T>(string text)
        where T : IMessage<T>, new()
    {
        var e = Assert.Throws<ServingException>(() => ProtoTextFormat.Parse<T>(text));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        return e.Message;
    }

    private static string TypeError(string position, string reason) =>
        $"Error parsing text-format google.protobuf.Type: {position}: {reason}";

    [Fact]
    public void Parse_ImproperlyFormattedFile_UnknownFieldAtNextToken()
    {
        // tensorflow_serving's testdata/bad_model_config.txt holds exactly this text.
        var message = Error<Type>("improperly formatted file");

        Assert.StartsWith("Error parsing text-format google.protobuf.Type: 1:", message, StringComparison.Ordinal);
        Assert.Equal(TypeError("1:12", "Message type \"google.protobuf.Type\" has no field named \"improperly\"."),
            message);
    }

    [Fact]
    public void Parse_UnknownFieldInNestedMessageOnLaterLine_LineAndColumn()
    {
        const string text = "name: \"t\"\n# comment\nfields {\n  nme: 1\n}";

        Assert.Equal(TypeError("4:6", "Message type \"google.protobuf.Field\" has no field named \"nme\"."),
            Error<Type>(text));
    }

    [Fact]
    public void Parse_UnknownFieldInMapEntry_EntryTypeName()
    {
        Assert.Equal("Error parsing text-format google.protobuf.Struct: 1:11: Message type " +
            "\"google.protobuf.Struct.FieldsEntry\" has no field named \"k\".", Error<Struct>("fields { k: \"a\" }"));
    }

    [Fact]
    public void Parse_TabBeforeError_ColumnAdvancesToMultipleOfEight()
    {
        Assert.Equal(TypeError("1:15", "Expected string, got: 5"), Error<Type>("\tname: 5"));
        Assert.Equal(TypeError("2:15", "Expected string, got: 5"), Error<Type>("\n  \tname: 5"));
        Assert.Equal(TypeError("1:23", "Expected string, got: 5"), Error<Type>("oneofs:\t'a'\tname: 5"));
    }

    [Fact]
    public void Parse_NonAsciiBeforeError_ColumnCountsBytes()
    {
        // "é" is two UTF-8 bytes, so the error column is one further than the character count.
        Assert.Equal(TypeError("1:20", "Expected string, got: 5"), Error<Type>("oneofs: 'é' name: 5"));
    }

    [Theory]
    [InlineData("name \"x\"", "1:6", "Expected \":\", found \"\"x\"\".")]
    [InlineData("name { }", "1:6", "Expected \":\", found \"{\".")]
    [InlineData("name: 5", "1:7", "Expected string, got: 5")]
    [InlineData("name: [\"a\"]", "1:7", "Expected string, got: [")]
    [InlineData("oneofs: [\"a\", ]", "1:15", "Expected string, got: ]")]
    [InlineData("oneofs: [\"a\" 5]", "1:14", "Expected \",\", found \"5\".")]
    [InlineData("source_context: 5", "1:17", "Expected \"{\", found \"5\".")]
    [InlineData("fields: 5", "1:9", "Expected \"{\", found \"5\".")]
    [InlineData("source_context {", "1:17", "Expected identifier, got: ")]
    [InlineData("source_context { file_name: \"a\" >", "1:33", "Expected \"}\", found \">\".")]
    [InlineData("source_context < file_name: \"a\" }", "1:33", "Expected \">\", found \"}\".")]
    [InlineData("}", "1:1", "Expected identifier, got: }")]
    [InlineData(">", "1:1", "Expected identifier, got: >")]
    [InlineData("5: 1", "1:1", "Expected identifier, got: 5")]
    [InlineData("name: \"a\" name: \"b\"", "1:15", "Non-repeated field \"name\" is specified multiple times.")]
    [InlineData("source_context {} source_context {}", "1:34",
        "Non-repeated field \"source_context\" is specified multiple times.")]
    [InlineData("fields { kind: TYPE_NOPE }", "1:26", "Unknown enumeration value of \"TYPE_NOPE\" for field \"kind\".")]
    [InlineData("fields { kind: \"TYPE_BOOL\" }", "1:16", "Expected integer or identifier, got: \"TYPE_BOOL\"")]
    [InlineData("fields { kind: 2147483648 }", "1:16", "Integer out of range (2147483648)")]
    [InlineData("[foo.bar]: 1", "1:10",
        "Extension \"foo.bar\" is not defined or is not an extension of \"google.protobuf.Type\".")]
    public void Parse_SyntaxAndFieldErrors_ProtobufText(string text, string position, string reason)
    {
        Assert.Equal(TypeError(position, reason), Error<Type>(text));
    }

    [Theory]
    [InlineData("number: 2147483648", "1:9", "Integer out of range (2147483648)")]
    [InlineData("number: -2147483649", "1:10", "Integer out of range (2147483649)")]
    [InlineData("number: \"5\"", "1:9", "Expected integer, got: \"5\"")]
    [InlineData("number: 1.5", "1:9", "Expected integer, got: 1.5")]
    [InlineData("number: x", "1:9", "Expected integer, got: x")]
    [InlineData("packed: yes", "1:12", "Invalid value for boolean field \"packed\". Value: \"yes\".")]
    [InlineData("packed: TRUE", "1:13", "Invalid value for boolean field \"packed\". Value: \"TRUE\".")]
    [InlineData("packed: 2", "1:9", "Integer out of range (2)")]
    [InlineData("packed: \"true\"", "1:9", "Expected identifier, got: \"true\"")]
    public void Parse_ScalarValueErrors_ProtobufText(string text, string position, string reason)
    {
        Assert.Equal($"Error parsing text-format google.protobuf.Field: {position}: {reason}", Error<Field>(text));
    }

    [Theory]
    [InlineData("number_value: 0x10", "1:15", "Expect a decimal number, got: 0x10")]
    [InlineData("number_value: 017", "1:15", "Expect a decimal number, got: 017")]
    [InlineData("number_value: abc", "1:15", "Expected double, got: abc")]
    [InlineData("number_value: Inff", "1:15", "Expected double, got: inff")]
    [InlineData("number_value: \"1\"", "1:15", "Expected double, got: \"1\"")]
    [InlineData("number_value: -", "1:16", "Expected double, got: ")]
    [InlineData("string_value: \"a\" bool_value: true", "1:29",
        "Field \"bool_value\" is specified along with field \"string_value\", another member of oneof \"kind\".")]
    [InlineData("struct_value {} list_value {}", "1:28",
        "Field \"list_value\" is specified along with field \"struct_value\", another member of oneof \"kind\".")]
    public void Parse_DoubleAndOneofErrors_ProtobufText(string text, string position, string reason)
    {
        Assert.Equal($"Error parsing text-format google.protobuf.Value: {position}: {reason}", Error<Value>(text));
    }

    [Theory]
    [InlineData("name: \"abc", "1:11", "Unexpected end of string.")]
    [InlineData("name: \"ab\ncd\"", "1:10", "Multiline strings are not allowed. Did you miss a \"?.")]
    [InlineData("name: \"\\q\"", "1:9", "Invalid escape sequence in string literal.")]
    [InlineData("name: \"\\xg\"", "1:10", "Expected hex digits for escape sequence.")]
    [InlineData("name: \"\\u12\"", "1:12", "Expected four hex digits for \\u escape sequence.")]
    [InlineData("name: \"\\U00200000\"", "1:12", "Expected eight hex digits up to 10ffff for \\U escape sequence")]
    [InlineData("name: '\\", "1:9", "Invalid escape sequence in string literal.")]
    [InlineData("name: \u0001", "1:7", "Invalid control characters encountered in text.")]
    [InlineData("name: \"a\"\0", "1:10", "Invalid control characters encountered in text.")]
    [InlineData("name: \"a\0\"", "1:9", "Unexpected end of string.")]
    [InlineData("name: é", "1:7", "Interpreting non ascii codepoint 195.")]
    [InlineData("\uFEFFname: 'a'", "1:1", "Interpreting non ascii codepoint 239.")]
    [InlineData("name.5", "1:5", "Need space between identifier and decimal point.")]
    [InlineData("name: \"\\xff\"", "1:7", "String field \"name\" contains invalid UTF-8 data.")]
    public void Parse_TokenizerErrors_ProtobufText(string text, string position, string reason)
    {
        Assert.Equal(TypeError(position, reason), Error<Type>(text));
    }

    [Theory]
    [InlineData("number: 0x", "1:11", "\"0x\" must be followed by hex digits.")]
    [InlineData("number: 09", "1:10", "Numbers starting with leading zero must be in octal.")]
    [InlineData("number: 12abc", "1:11", "Need space between number and identifier.")]
    [InlineData("number: 1_0", "1:10", "Need space between number and identifier.")]
    [InlineData("number: 0x1.5", "1:12", "Hex and octal numbers must be integers.")]
    [InlineData("number: 1e", "1:11", "\"e\" must be followed by exponent.")]
    [InlineData("number: 1.2.3", "1:12", "Already saw decimal point or exponent; can't have another one.")]
    public void Parse_NumberTokenErrors_ProtobufText(string text, string position, string reason)
    {
        Assert.Equal($"Error parsing text-format google.protobuf.Field: {position}: {reason}", Error<Field>(text));
    }

    [Theory]
    [InlineData("value: 9223372036854775808", "Int64Value", "1:8", "Integer out of range (9223372036854775808)")]
    [InlineData("value: -9223372036854775809", "Int64Value", "1:9", "Integer out of range (9223372036854775809)")]
    [InlineData("value: 18446744073709551616", "UInt64Value", "1:8", "Integer out of range (18446744073709551616)")]
    [InlineData("value: 0x100000000", "UInt32Value", "1:8", "Integer out of range (0x100000000)")]
    [InlineData("value: -1", "UInt32Value", "1:8", "Expected integer, got: -")]
    public void Parse_IntegerRangeErrors_ProtobufText(string text, string type, string position, string reason)
    {
        var descriptor = type switch
        {
            "Int64Value" => Int64Value.Descriptor,
            "UInt64Value" => UInt64Value.Descriptor,
            _ => UInt32Value.Descriptor,
        };
        var e = Assert.Throws<ServingException>(() => ProtoTextFormat.Parse(text, descriptor));

        Assert.Equal($"Error parsing text-format google.protobuf.{type}: {position}: {reason}", e.Message);
    }

    [Fact]
    public void Parse_MapEntryErrors_ProtobufText()
    {
        Assert.Equal("Error parsing text-format google.protobuf.Struct: 1:15: Expected string, got: 1",
            Error<Struct>("fields { key: 1 }"));
        Assert.Equal("Error parsing text-format google.protobuf.Struct: 1:22: Non-repeated field \"key\" is " +
            "specified multiple times.", Error<Struct>("fields { key: \"a\" key: \"b\" }"));
    }

    [Fact]
    public void Parse_ClosedEnumUnknownNumber_Error()
    {
        Assert.Equal("Error parsing text-format google.protobuf.FieldDescriptorProto: 1:9: Unknown enumeration value " +
            "of \"99\" for field \"type\".", Error<FieldDescriptorProto>("type: 99"));
        Assert.Equal("Error parsing text-format tensorserve.test.Legacy: 1:8: Unknown enumeration value of \"5\" for " +
            "field \"kind\".", Error<Legacy>("kind: 5"));
    }

    [Fact]
    public void Parse_MissingRequiredFields_ErrorWithoutPosition()
    {
        Assert.Equal("Error parsing text-format google.protobuf.UninterpretedOption: Message missing required " +
            "fields: name[0].is_extension", Error<UninterpretedOption>("name { name_part: \"x\" }"));
        Assert.Equal("Error parsing text-format tensorserve.test.Legacy: Message missing required fields: id, " +
            "children[0].id, children[1].children[0].id",
            Error<Legacy>("kind: KIND_A children {} children { id: 3 children {} }"));
    }

    [Fact]
    public void Parse_ExpandedAnyErrors_ProtobufText()
    {
        const string prefix = "Error parsing text-format tensorserve.test.AllTypes: ";

        Assert.Equal(prefix + "1:33: Type URL prefix is missing",
            Error<AllTypes>("any { [google.protobuf.Duration] {} }"));
        Assert.Equal(prefix + "1:38: Could not find type \"type.googleapis.com/foo.Nope\" stored in " +
            "google.protobuf.Any.", Error<AllTypes>("any { [type.googleapis.com/foo.Nope] {} }"));
        Assert.Equal(prefix + "1:13: Type URL prefix is empty", Error<AllTypes>("any { [/x.Y] {} }"));
        Assert.Equal(prefix + "1:15: Type URL starts with \"/\"", Error<AllTypes>("any { [/a/x.Y] {} }"));
        Assert.Equal(prefix + "1:16: Invalid percent encode, got: \"%4/\"",
            Error<AllTypes>("any { [a%4/x.Y] {} }"));
        Assert.Equal(prefix + "1:19: Invalid identifier in type name, got: \"9x\"",
            Error<AllTypes>("any { [a.com/9x.Y] {} }"));
        Assert.Equal(prefix + "1:10: Extension name contains \"/\"", Error<AllTypes>("[a.com/x] {}"));
        Assert.EndsWith(": Non-repeated Any specified multiple times.", Error<AllTypes>(
            "any { [type.googleapis.com/google.protobuf.Duration] {} [type.googleapis.com/google.protobuf.Duration] {} }"),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingBeyondLimit_TooDeepError()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 51; i++)
        {
            text.Append("list_value { values { ");
        }

        var message = Error<Value>(text.ToString());

        Assert.StartsWith("Error parsing text-format google.protobuf.Value: 1:", message, StringComparison.Ordinal);
        Assert.EndsWith(": Message is too deep, the parser exceeded the configured recursion limit of 100.", message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VeryDeepInput_ErrorNotStackOverflow()
    {
        var text = string.Concat(Enumerable.Repeat("list_value { values { ", 200_000));

        Assert.Contains("recursion limit of 100", Error<Value>(text), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingAtLimit_Accepted()
    {
        // 50 list_value/values pairs = 100 nested messages.
        var text = string.Concat(Enumerable.Repeat("list_value { values { ", 50)) + new string('}', 100);

        var value = ProtoTextFormat.Parse<Value>(text);

        Assert.Equal(Value.KindOneofCase.ListValue, value.KindCase);
    }

    [Fact]
    public void Parse_BigUnicodeEscapeBeyondRange_KeptAsEscapeText()
    {
        // protobuf's AppendUTF8 writes code points above 0x10FFFF back as "\U%08x".
        Assert.Equal("\\U00110000", ProtoTextFormat.Parse<StringValue>("value: \"\\U00110000\"").Value);
    }

    [Fact]
    public void Parse_ErrorAsStatusString_InvalidArgument()
    {
        var e = Assert.Throws<ServingException>(() => ProtoTextFormat.Parse<Type>("x: 1"));

        Assert.Equal("INVALID_ARGUMENT: Error parsing text-format google.protobuf.Type: 1:2: Message type " +
            "\"google.protobuf.Type\" has no field named \"x\".", e.StatusString);
    }
}
