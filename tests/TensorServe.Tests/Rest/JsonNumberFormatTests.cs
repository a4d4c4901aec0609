using System.Buffers;
using System.Globalization;
using System.Text;
using TensorServe.Rest;

namespace TensorServe.Tests.Rest;

public class JsonNumberFormatTests
{
    private static string Float(float value)
    {
        Span<byte> buffer = stackalloc byte[JsonNumberFormat.MaxLength];
        return Encoding.ASCII.GetString(buffer[..JsonNumberFormat.FormatFloat(value, buffer)]);
    }

    private static string Double(double value)
    {
        Span<byte> buffer = stackalloc byte[JsonNumberFormat.MaxLength];
        return Encoding.ASCII.GetString(buffer[..JsonNumberFormat.FormatDouble(value, buffer)]);
    }

    private static string G(double value, int precision)
    {
        Span<byte> buffer = stackalloc byte[JsonNumberFormat.MaxLength];
        return Encoding.ASCII.GetString(buffer[..JsonNumberFormat.FormatG(value, precision, buffer)]);
    }

    // Spec §1.6 table (the float column applies where the value is exact in float, too).
    [Theory]
    [InlineData(9000000.0, "9e+06")]
    [InlineData(999999.0, "999999.0")]
    [InlineData(0.5, "0.5")]
    [InlineData(0.0003, "0.0003")]
    [InlineData(0.00003, "3e-05")]
    [InlineData(555557.5, "555557.5")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(100.0, "100.0")]
    [InlineData(3.0, "3.0")]
    [InlineData(0.0, "0.0")]
    [InlineData(1e21, "1e+21")]
    [InlineData(-2.5, "-2.5")]
    public void FormatDouble_SpecTable_MatchesTfServing(double value, string expected) =>
        Assert.Equal(expected, Double(value));

    [Theory]
    [InlineData(9000000f, "9e+06")]
    [InlineData(999999f, "999999.0")]
    [InlineData(0.5f, "0.5")]
    [InlineData(0.0003f, "0.0003")]
    [InlineData(0.00003f, "3e-05")]
    [InlineData(555557.5f, "555557.5")]
    [InlineData(1435774336f, "1.43577434e+09")]
    [InlineData(0.1f, "0.1")]
    [InlineData(1e-7f, "1e-07")]
    [InlineData(123456789f, "123456792.0")]
    [InlineData(-0.0f, "-0.0")]
    [InlineData(100f, "100.0")]
    [InlineData(3f, "3.0")]
    public void FormatFloat_SpecTable_MatchesTfServing(float value, string expected) =>
        Assert.Equal(expected, Float(value));

    // Expected texts produced by glibc printf with the WriteDecimal algorithm (strtof/strtod round trip).
    [Theory]
    [InlineData(2097150.625f, "2097150.62")] // exact tie at 9 digits: ties to even
    [InlineData(2097151.875f, "2097151.88")]
    [InlineData(16777215.5f, "16777216.0")] // not a float: rounds to 2^24
    [InlineData(1.17549435e-38f, "1.17549435e-38")]
    [InlineData(3.40282347e+38f, "3.40282347e+38")]
    [InlineData(1.401298464e-45f, "1.4013e-45")] // denormal: the short form already parses back
    [InlineData(0.2f, "0.2")]
    [InlineData(1e-5f, "1e-05")]
    [InlineData(123456.5f, "123456.5")]
    [InlineData(65504f, "65504.0")]
    public void FormatFloat_PrintfReference_Matches(float value, string expected) =>
        Assert.Equal(expected, Float(value));

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0 / 3, "0.33333333333333331")]
    [InlineData(2.2250738585072014e-308, "2.2250738585072014e-308")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(4.9406564584124654e-324, "4.94066e-324")] // denormal: the short form already parses back
    [InlineData(1234565.0, "1234565.0")]
    [InlineData(123456.5, "123456.5")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(100000.0, "100000.0")]
    [InlineData(1e6, "1e+06")]
    [InlineData(2525.50259, "2525.5025900000001")]
    public void FormatDouble_PrintfReference_Matches(double value, string expected) =>
        Assert.Equal(expected, Double(value));

    // printf("%g") / ("%.17g") references, including exact decimal ties, which C rounds to even.
    [Theory]
    [InlineData(1234565.0, 6, "1.23456e+06")]
    [InlineData(1234575.0, 6, "1.23458e+06")]
    [InlineData(123456.5, 6, "123456")]
    [InlineData(0.125, 2, "0.12")]
    [InlineData(0.375, 2, "0.38")]
    [InlineData(2.5, 1, "2")]
    [InlineData(100000.0, 6, "100000")]
    [InlineData(1000000.0, 6, "1e+06")]
    [InlineData(0.0001, 6, "0.0001")]
    [InlineData(0.00001, 6, "1e-05")]
    [InlineData(999999.5, 6, "1e+06")]
    [InlineData(1e100, 6, "1e+100")]
    [InlineData(1.5e-300, 6, "1.5e-300")]
    [InlineData(1234565.0, 17, "1234565")]
    [InlineData(0.1, 17, "0.10000000000000001")]
    public void FormatG_PrintfReference_Matches(double value, int precision, string expected) =>
        Assert.Equal(expected, G(value, precision));

    [Fact]
    public void FormatFloat_NonFinite_BareTokens()
    {
        Assert.Equal("NaN", Float(float.NaN));
        Assert.Equal("Infinity", Float(float.PositiveInfinity));
        Assert.Equal("-Infinity", Float(float.NegativeInfinity));
        Assert.Equal("NaN", Double(double.NaN));
        Assert.Equal("Infinity", Double(double.PositiveInfinity));
        Assert.Equal("-Infinity", Double(double.NegativeInfinity));
    }

    [Fact]
    public void FormatFloat_RandomBitPatterns_RoundTripAndLookLikeDecimals()
    {
        var random = new Random(1234);
        Span<byte> bits = stackalloc byte[4];
        for (var i = 0; i < 200_000; i++)
        {
            random.NextBytes(bits);
            var value = BitConverter.ToSingle(bits);
            if (!float.IsFinite(value))
            {
                continue;
            }
            var text = Float(value);
            var parsed = float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            Assert.True(parsed.Equals(value), $"{value:R} printed as {text} parsed back as {parsed:R}");
            Assert.True(text.Contains('.') || text.Contains('e'), text);
            Assert.True(text.Length <= 15, text);
        }
    }

    [Fact]
    public void FormatDouble_RandomBitPatterns_RoundTripAndLookLikeDecimals()
    {
        var random = new Random(5678);
        for (var i = 0; i < 200_000; i++)
        {
            var value = BitConverter.Int64BitsToDouble(random.NextInt64() ^ ((long)random.Next(2) << 63));
            if (!double.IsFinite(value))
            {
                continue;
            }
            var text = Double(value);
            var parsed = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            Assert.True(parsed.Equals(value), $"{value:R} printed as {text} parsed back as {parsed:R}");
            Assert.True(text.Contains('.') || text.Contains('e'), text);
        }
    }

    [Fact]
    public void FormatDouble_ShortValues_UseSixDigitForm()
    {
        // Values with at most 6 significant digits must print in %g's short form, never the 17-digit one.
        var random = new Random(42);
        for (var i = 0; i < 20_000; i++)
        {
            var mantissa = random.Next(1, 1_000_000);
            var exponent = random.Next(-20, 20);
            var text = $"{mantissa}e{exponent}";
            var value = double.Parse(text, CultureInfo.InvariantCulture);
            var printed = Double(value);
            Assert.True(printed.TrimStart('-').Replace(".", "").Split('e')[0].TrimStart('0').Length <= 7, printed);
            Assert.Equal(value, double.Parse(printed, CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void WriteIntegers_RapidJsonDecimalText()
    {
        var buffer = new ArrayBufferWriter<byte>();
        JsonNumberFormat.WriteInt32(buffer, int.MinValue);
        JsonNumberFormat.WriteBool(buffer, true);
        JsonNumberFormat.WriteInt64(buffer, long.MinValue);
        JsonNumberFormat.WriteBool(buffer, false);
        JsonNumberFormat.WriteUInt32(buffer, uint.MaxValue);
        JsonNumberFormat.WriteUInt64(buffer, ulong.MaxValue);
        JsonNumberFormat.WriteFloat(buffer, 2.5f);
        JsonNumberFormat.WriteDouble(buffer, 1e300);
        Assert.Equal("-2147483648true-9223372036854775808false4294967295184467440737095516152.51e+300",
            Encoding.ASCII.GetString(buffer.WrittenSpan));
    }
}
