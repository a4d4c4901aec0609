using System.Buffers;
using System.Buffers.Text;
using System.Globalization;

namespace TensorServe.Rest;

/// <summary>
/// Number text exactly as TF Serving's JSON writer produces it (spec §1.6, <c>util/json_tensor.cc</c> <c>WriteDecimal</c>):
/// floats and doubles print as C <c>%g</c> with 6 significant digits when that round-trips, else with
/// <c>max_digits10</c> (9 for float, 17 for double) digits; whole-looking text gets <c>.0</c>; non-finite values are the
/// bare tokens <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>. Integers print as RapidJSON's <c>Int/Int64/Uint/Uint64</c>.
/// Everything formats into stack or caller spans; nothing allocates.
/// </summary>
internal static class JsonNumberFormat
{
    /// <summary>Longest text any formatter here produces (<c>-2.2250738585072014e-308</c> is 24 bytes).</summary>
    public const int MaxLength = 32;

    // "E<p-1>" for every %g precision 1..17; indexed by precision.
    private static readonly string[] ExponentFormats =
        ["", "E0", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9", "E10", "E11", "E12", "E13", "E14", "E15", "E16"];

    public static void WriteFloat(IBufferWriter<byte> writer, float value)
    {
        var span = writer.GetSpan(MaxLength);
        writer.Advance(FormatFloat(value, span));
    }

    public static void WriteDouble(IBufferWriter<byte> writer, double value)
    {
        var span = writer.GetSpan(MaxLength);
        writer.Advance(FormatDouble(value, span));
    }

    /// <summary>Formats a float as <c>WriteDecimal&lt;float&gt;</c>; returns the byte count (at most <see cref="MaxLength"/>).</summary>
    public static int FormatFloat(float value, Span<byte> destination)
    {
        if (!float.IsFinite(value))
        {
            return FormatNonFinite(value, destination);
        }
        // absl::StrCat(float) formats the value widened to double; only the round-trip parse is float-typed.
        var length = FormatG(value, 6, destination);
        if (!float.TryParse(destination[..length], NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ||
            parsed != value)
        {
            length = FormatG(value, 9, destination);
        }
        return AppendPointZero(destination, length);
    }

    /// <summary>Formats a double as <c>WriteDecimal&lt;double&gt;</c>; returns the byte count (at most <see cref="MaxLength"/>).</summary>
    public static int FormatDouble(double value, Span<byte> destination)
    {
        if (!double.IsFinite(value))
        {
            return FormatNonFinite(value, destination);
        }
        var length = FormatG(value, 6, destination);
        if (!double.TryParse(destination[..length], NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ||
            parsed != value)
        {
            length = FormatG(value, 17, destination);
        }
        return AppendPointZero(destination, length);
    }

    /// <summary>
    /// C <c>printf("%.{precision}g")</c> for a finite value: the <c>%e</c> rounding decides the exponent X; fixed notation
    /// when -4 &lt;= X &lt; precision, else <c>d.ddde±XX</c>; trailing fraction zeros and a bare point are removed.
    /// .NET's "E" format rounds correctly from the exact binary value with ties to even, as glibc does.
    /// </summary>
    public static int FormatG(double value, int precision, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(precision, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(precision, 17);

        // "-d.dddddddddddddddde+308": at most 1 + 1 + 1 + 16 + 2 + 3 bytes.
        Span<byte> e = stackalloc byte[40];
        if (!value.TryFormat(e, out var eLength, ExponentFormats[precision], CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("Exponent formatting did not fit its buffer.");
        }
        e = e[..eLength];

        var pos = 0;
        var negative = e[0] == (byte)'-';
        var read = negative ? 1 : 0;

        // Collect the significant digits (the mantissa without its point).
        Span<byte> digits = stackalloc byte[17];
        var digitCount = 0;
        while (e[read] != (byte)'E')
        {
            if (e[read] != (byte)'.')
            {
                digits[digitCount++] = e[read];
            }
            read++;
        }
        read++; // 'E'
        var exponentNegative = e[read] == (byte)'-';
        read++;
        var exponent = 0;
        for (; read < e.Length; read++)
        {
            exponent = (exponent * 10) + (e[read] - '0');
        }
        if (exponentNegative)
        {
            exponent = -exponent;
        }

        // Without '#', %g drops trailing zeros of the fraction.
        var significant = digitCount;
        while (significant > 1 && digits[significant - 1] == (byte)'0')
        {
            significant--;
        }

        if (negative)
        {
            destination[pos++] = (byte)'-';
        }

        if (exponent >= -4 && exponent < precision)
        {
            if (exponent < 0)
            {
                destination[pos++] = (byte)'0';
                destination[pos++] = (byte)'.';
                for (var i = -1; i > exponent; i--)
                {
                    destination[pos++] = (byte)'0';
                }
                digits[..significant].CopyTo(destination[pos..]);
                pos += significant;
            }
            else
            {
                // Integer part is digits[0..exponent]; any digits past it form the fraction.
                var integerDigits = exponent + 1;
                for (var i = 0; i < integerDigits; i++)
                {
                    destination[pos++] = i < digitCount ? digits[i] : (byte)'0';
                }
                if (significant > integerDigits)
                {
                    destination[pos++] = (byte)'.';
                    digits[integerDigits..significant].CopyTo(destination[pos..]);
                    pos += significant - integerDigits;
                }
            }
            return pos;
        }

        destination[pos++] = digits[0];
        if (significant > 1)
        {
            destination[pos++] = (byte)'.';
            digits[1..significant].CopyTo(destination[pos..]);
            pos += significant - 1;
        }
        destination[pos++] = (byte)'e';
        destination[pos++] = exponent < 0 ? (byte)'-' : (byte)'+';
        var magnitude = Math.Abs(exponent);
        if (magnitude < 10)
        {
            destination[pos++] = (byte)'0';
        }
        Utf8Formatter.TryFormat(magnitude, destination[pos..], out var exponentLength);
        return pos + exponentLength;
    }

    public static void WriteInt32(IBufferWriter<byte> writer, int value)
    {
        var span = writer.GetSpan(11);
        Utf8Formatter.TryFormat(value, span, out var written);
        writer.Advance(written);
    }

    public static void WriteInt64(IBufferWriter<byte> writer, long value)
    {
        var span = writer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        writer.Advance(written);
    }

    public static void WriteUInt32(IBufferWriter<byte> writer, uint value)
    {
        var span = writer.GetSpan(10);
        Utf8Formatter.TryFormat(value, span, out var written);
        writer.Advance(written);
    }

    public static void WriteUInt64(IBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        writer.Advance(written);
    }

    public static void WriteBool(IBufferWriter<byte> writer, bool value)
    {
        var text = value ? "true"u8 : "false"u8;
        text.CopyTo(writer.GetSpan(text.Length));
        writer.Advance(text.Length);
    }

    private static int FormatNonFinite(double value, Span<byte> destination)
    {
        var text = double.IsNaN(value) ? "NaN"u8 : value < 0 ? "-Infinity"u8 : "Infinity"u8;
        text.CopyTo(destination);
        return text.Length;
    }

    /// <summary>Appends <c>.0</c> when the text has neither a point nor an exponent, so JSON readers see a decimal.</summary>
    private static int AppendPointZero(Span<byte> text, int length)
    {
        if (text[..length].IndexOfAny((byte)'.', (byte)'e') >= 0)
        {
            return length;
        }
        text[length] = (byte)'.';
        text[length + 1] = (byte)'0';
        return length + 2;
    }
}
