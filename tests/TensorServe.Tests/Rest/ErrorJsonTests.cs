using System.Text;
using TensorServe.Rest;

namespace TensorServe.Tests.Rest;

public class ErrorJsonTests
{
    private static string Write(string message)
    {
        var writer = new StrictBufferWriter();
        ErrorJson.Write(writer, message);
        return writer.WrittenText;
    }

    [Fact]
    public void Write_SimpleMessage_ExactBytes() =>
        Assert.Equal("{\n    \"error\": \"Servable not found for request: Latest(half)\"\n}",
            Write("Servable not found for request: Latest(half)"));

    [Fact]
    public void Write_SpecialCharacters_RapidJsonEscaping() =>
        // '/' stays raw, controls get names or upper-case \u00XX, non-ASCII stays raw UTF-8.
        Assert.Equal("{\n    \"error\": \"a\\\"b\\\\c/d\\b\\t\\n\\f\\r\\u001F\u00fc\u20ac\"\n}",
            Write("a\"b\\c/d\b\t\n\f\r\u001f\u00fc\u20ac"));

    [Fact]
    public void Write_EmptyMessage_EmptyString() => Assert.Equal("{\n    \"error\": \"\"\n}", Write(""));

    [Fact]
    public void Write_LongMessage_PooledPathSameBytes()
    {
        var message = new string('\u00e9', 3000) + "\n";
        Assert.Equal("{\n    \"error\": \"" + new string('\u00e9', 3000) + "\\n\"\n}", Write(message));
    }

    [Fact]
    public void ToUtf8Bytes_SameAsWrite() =>
        Assert.Equal(Encoding.UTF8.GetBytes(Write("x")), ErrorJson.ToUtf8Bytes("x"));
}
