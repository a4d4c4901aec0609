using System.Text;
using TensorServe.Rest.Json;

namespace TensorServe.Tests.Rest.Json;

public class JsonDebugWriterTests
{
    private static string Dbg(string json, int start = 0) => JsonDebugWriter.Write(Encoding.UTF8.GetBytes(json), start);

    [Theory]
    [InlineData("{\"instances\": 5}", "{\n    \"instances\": 5\n}")]
    [InlineData("2.0", "2.0")]
    [InlineData("\"x\"", "\"x\"")]
    [InlineData("[1,[2,3.5]]", "[1, [2, 3.5]]")]
    [InlineData("[]", "[]")]
    [InlineData("{}", "{}")]
    [InlineData("[true,false,null]", "[true, false, null]")]
    [InlineData("-5", "-5")]
    [InlineData("18446744073709551615", "18446744073709551615")]
    [InlineData("-9223372036854775808", "-9223372036854775808")]
    [InlineData("[{\"a\":1,\"b\":[]}]", "[{\n        \"a\": 1,\n        \"b\": []\n    }]")]
    [InlineData("{\"a\":{\"b\":{}}}", "{\n    \"a\": {\n        \"b\": {}\n    }\n}")]
    public void Write_Value_RapidJsonPrettySingleLineArrays(string json, string expected) =>
        Assert.Equal(expected, Dbg(json));

    [Fact]
    public void Write_StringEscapes_ReescapedRapidJsonStyle() =>
        Assert.Equal("{\n    \"k\\\"\": \"a\\u0001/\\n\u00e9\"\n}", Dbg("{\"k\\\"\": \"a\\u0001\\/\\n\\u00e9\"}"));

    [Theory]
    [InlineData("[1, NaN, 2]", "[1, ")]
    [InlineData("[Infinity]", "[")]
    [InlineData("{\"a\": -Inf}", "{\n    \"a\": ")]
    [InlineData("NaN", "")]
    public void Write_NonFinite_StopsAfterSeparator(string json, string expected) => Assert.Equal(expected, Dbg(json));

    [Fact]
    public void Write_LongArray_CutOnceOutputReaches256Bytes()
    {
        var json = "[" + string.Join(",", Enumerable.Repeat("1", 300)) + "]";
        // "[1" then ", 1" per element: 3n - 1 bytes after n elements; the first n with 3n - 1 >= 256 is 86.
        Assert.Equal("[1" + string.Concat(Enumerable.Repeat(", 1", 85)), Dbg(json));
    }

    [Fact]
    public void Write_LongStringToken_WrittenWholeThenCut()
    {
        var text = new string('a', 300);
        Assert.Equal("[\"" + text + "\"", Dbg("[\"" + text + "\", 1]"));
    }

    [Fact]
    public void Write_DeepNesting_CutAt256Brackets()
    {
        const int depth = 500_000;
        Assert.Equal(new string('[', 256), Dbg(new string('[', depth) + new string(']', depth)));
    }

    [Fact]
    public void Write_StartOffset_WritesOnlyThatValue() =>
        Assert.Equal("[2, 3]", Dbg("{\"a\": [2,3], \"b\": 4}", 6));

    [Theory]
    [InlineData(2.0, "2.0")]
    [InlineData(3.5, "3.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(0.0, "0.0")]
    [InlineData(100.0, "100.0")]
    [InlineData(1e-6, "0.000001")]
    [InlineData(1.5e-6, "0.0000015")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(1.25e-7, "1.25e-7")]
    [InlineData(1e20, "100000000000000000000.0")]
    [InlineData(1e21, "1e21")]
    [InlineData(1.5e300, "1.5e300")]
    [InlineData(-2.5e-300, "-2.5e-300")]
    [InlineData(123456789012345678901234.0, "1.2345678901234569e23")]
    [InlineData(1234.5678, "1234.5678")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e308")]
    public void FormatDouble_RapidJsonDtoaLayout(double value, string expected)
    {
        var buffer = new byte[64];
        Assert.Equal(expected, Encoding.ASCII.GetString(buffer, 0, JsonDebugWriter.FormatDouble(value, buffer)));
    }
}
