using System.Buffers;
using System.Globalization;
using System.Text;

namespace TensorServe.Rest.Json;

/// <summary>
/// The <c>&lt;dbg&gt;</c> text of TF Serving's JSON error messages (spec §1.5): one value re-serialized by RapidJSON's
/// <c>PrettyWriter</c> with <c>kFormatSingleLineArray</c> (objects one member per line with a 4-space indent, arrays
/// on one line with <c>", "</c>). Writing stops once the output reaches 256 bytes (the token that crosses the limit
/// is complete, the rest is dropped, so the text may be invalid JSON) and at the first NaN/Inf, after its separator,
/// because RapidJSON's <c>Writer::Double</c> refuses non-finite values. Only used on error paths.
/// </summary>
internal static class JsonDebugWriter
{
    public const int OutputLimit = 256;

    // Every level opened costs at least one output byte, so the limit also bounds the depth written.
    private const int MaxLevels = OutputLimit + 2;

    /// <summary>Re-serializes the (already validated) value starting at <paramref name="start"/>.</summary>
    public static string Write(ReadOnlySpan<byte> json, int start)
    {
        var output = new ArrayBufferWriter<byte>(OutputLimit * 2);
        Span<RapidJsonPrettyWriter.Level> levels = stackalloc RapidJsonPrettyWriter.Level[MaxLevels];
        var writer = new RapidJsonPrettyWriter(output, levels) { SingleLineArrays = true };
        Span<byte> number = stackalloc byte[JsonNumberFormat.MaxLength];
        using var reader = new JsonTokenizer(json, start);
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject: writer.StartObject(); break;
                case JsonTokenType.EndObject: writer.EndObject(); break;
                case JsonTokenType.StartArray: writer.StartArray(); break;
                case JsonTokenType.EndArray: writer.EndArray(); break;
                case JsonTokenType.PropertyName:
                case JsonTokenType.String:
                    WriteString(ref writer, in reader);
                    break;
                case JsonTokenType.True: writer.Bool(true); break;
                case JsonTokenType.False: writer.Bool(false); break;
                case JsonTokenType.Null: writer.RawValue("null"u8); break;
                default:
                    var value = reader.Number;
                    switch (value.Kind)
                    {
                        case JsonNumberKind.Int:
                        case JsonNumberKind.Int64:
                            writer.Int64(value.GetInt64());
                            break;
                        case JsonNumberKind.Uint:
                        case JsonNumberKind.Uint64:
                            writer.UInt64(value.GetUInt64());
                            break;
                        default:
                            var d = value.GetDouble();
                            if (!double.IsFinite(d))
                            {
                                writer.RawValue([]);
                                return Encoding.UTF8.GetString(output.WrittenSpan);
                            }
                            writer.RawValue(number[..FormatDouble(d, number)]);
                            break;
                    }
                    break;
            }
            if (output.WrittenCount >= OutputLimit)
            {
                break;
            }
        }
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static void WriteString(ref RapidJsonPrettyWriter writer, scoped in JsonTokenizer reader)
    {
        var raw = reader.RawString;
        if (!reader.StringHasEscapes)
        {
            writer.String(raw);
            return;
        }
        var rented = ArrayPool<byte>.Shared.Rent(raw.Length);
        try
        {
            writer.String(rented.AsSpan(0, reader.CopyString(rented)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// A finite double as RapidJSON's <c>Writer::Double</c> prints it: <c>internal::dtoa</c>, i.e. shortest digits then
    /// <c>Prettify</c> (<c>2.0</c>, <c>0.001</c>, <c>1e-7</c>, <c>1.5e300</c>, <c>-0.0</c>). RapidJSON gets the digits
    /// from Grisu2, which in rare cases is not the shortest round-trip form; we use .NET's shortest ("R") digits.
    /// </summary>
    public static int FormatDouble(double value, Span<byte> destination)
    {
        var pos = 0;
        if (value == 0)
        {
            if (double.IsNegative(value))
            {
                destination[pos++] = (byte)'-';
            }
            "0.0"u8.CopyTo(destination[pos..]);
            return pos + 3;
        }
        if (value < 0)
        {
            destination[pos++] = (byte)'-';
            value = -value;
        }

        // "R" gives the shortest round-trip digits as "ddd.ddd" or "d.dddE±x"; reduce to (integer digits) × 10^k.
        Span<byte> text = stackalloc byte[32];
        value.TryFormat(text, out var length, "R", CultureInfo.InvariantCulture);
        text = text[..length];
        Span<byte> digits = stackalloc byte[24];
        var digitCount = 0;
        var fractionDigits = 0;
        var inFraction = false;
        var k = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == (byte)'.')
            {
                inFraction = true;
            }
            else if (c == (byte)'E')
            {
                k = int.Parse(text[(i + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                break;
            }
            else
            {
                if (inFraction)
                {
                    fractionDigits++;
                }
                if (c != (byte)'0' || digitCount > 0) // leading zeros carry no value
                {
                    digits[digitCount++] = c;
                }
            }
        }
        k -= fractionDigits;
        while (digitCount > 1 && digits[digitCount - 1] == (byte)'0')
        {
            digitCount--;
            k++;
        }
        return pos + Prettify(digits[..digitCount], k, destination[pos..]);
    }

    /// <summary>RapidJSON's <c>Prettify</c> for <c>digits × 10^k</c> with the default 324 maximum decimal places.</summary>
    private static int Prettify(ReadOnlySpan<byte> digits, int k, Span<byte> destination)
    {
        var length = digits.Length;
        var kk = length + k; // 10^(kk-1) <= v < 10^kk
        if (k >= 0 && kk <= 21)
        {
            digits.CopyTo(destination);
            destination[length..kk].Fill((byte)'0');
            destination[kk] = (byte)'.';
            destination[kk + 1] = (byte)'0';
            return kk + 2;
        }
        if (kk > 0 && kk <= 21)
        {
            digits[..kk].CopyTo(destination);
            destination[kk] = (byte)'.';
            digits[kk..].CopyTo(destination[(kk + 1)..]);
            return length + 1;
        }
        if (kk > -6 && kk <= 0)
        {
            var offset = 2 - kk;
            destination[0] = (byte)'0';
            destination[1] = (byte)'.';
            destination[2..offset].Fill((byte)'0');
            digits.CopyTo(destination[offset..]);
            return length + offset;
        }
        int pos;
        if (length == 1)
        {
            destination[0] = digits[0];
            pos = 1;
        }
        else
        {
            destination[0] = digits[0];
            destination[1] = (byte)'.';
            digits[1..].CopyTo(destination[2..]);
            pos = length + 1;
        }
        destination[pos++] = (byte)'e';
        var exponent = kk - 1;
        if (exponent < 0)
        {
            destination[pos++] = (byte)'-';
            exponent = -exponent;
        }
        exponent.TryFormat(destination[pos..], out var written, default, CultureInfo.InvariantCulture);
        return pos + written;
    }
}
