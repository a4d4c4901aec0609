using TensorServe.Rest;

namespace TensorServe.Tests.Rest;

public class ProtobufJsonWriterTests
{
    private static string Render(Action<ProtobufJsonWriter> write)
    {
        var writer = new StrictBufferWriter();
        write(new ProtobufJsonWriter(writer));
        return writer.WrittenText;
    }

    [Fact]
    public void String_EscapesLikeProtobufJsonEscaping()
    {
        // Lower-case hex; <, >, DEL, C1 controls and invisible code points escaped; '/' and other non-ASCII raw.
        var value = "\"\\/<>\b\t\n\f\r\u000b\u001f\u007f\u0085\u00a0\u00ad\u00e9\u0600\u200b\u2028\u2060\u206f\ufeff\ufffb\U0001D173\U000E0041\U0001F600";
        var expected = "\\\"\\\\/\\u003c\\u003e\\b\\t\\n\\f\\r\\u000b\\u001f\\u007f\\u0085\u00a0\\u00ad\u00e9\\u0600\\u200b\\u2028" +
            "\\u2060\\u206f\\ufeff\\ufffb\\ud834\\udd73\\udb40\\udc41\U0001F600";
        Assert.Equal("{\n \"k\": \"" + expected + "\"\n}\n", Render(json =>
        {
            json.StartObject();
            json.String("k", value);
            json.EndObject();
        }));
    }

    [Fact]
    public void Containers_EmptyOnOneLineNestedIndentedByOneSpace() =>
        Assert.Equal("{\n \"a\": {},\n \"b\": [],\n \"c\": [\n  {\n   \"x\": true\n  },\n  {}\n ]\n}\n", Render(json =>
        {
            json.StartObject();
            json.StartObject("a");
            json.EndObject();
            json.StartList("b");
            json.EndList();
            json.StartList("c");
            json.StartObject();
            json.Bool("x", true);
            json.EndObject();
            json.StartObject();
            json.EndObject();
            json.EndList();
            json.EndObject();
        }));

    [Fact]
    public void EndObject_EmptyRoot_BracesAndNewline() =>
        Assert.Equal("{}\n", Render(json =>
        {
            json.StartObject();
            json.EndObject();
        }));
}
