using System.Buffers;

namespace TensorServe.Rest;

/// <summary>
/// String escaping exactly as RapidJSON 1.1.0's <c>Writer::WriteString</c> with default flags (spec §1.4): <c>"</c> and
/// <c>\</c> escaped, <c>\b \t \n \f \r</c> by name, other bytes below 0x20 as <c>\u00XX</c> with upper-case hex, <c>/</c>
/// not escaped, all other bytes (including invalid UTF-8) copied raw.
/// </summary>
internal static class RapidJsonEscaping
{
    private static ReadOnlySpan<byte> Hex => "0123456789ABCDEF"u8;

    /// <summary>Writes <paramref name="value"/> as a quoted JSON string.</summary>
    public static void WriteQuoted(IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        // Worst case is 6 bytes per input byte plus quotes; escapes are rare, so size for the common case first.
        var span = writer.GetSpan(value.Length + 2);
        var pos = 0;
        span[pos++] = (byte)'"';
        var start = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var b = value[i];
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\')
            {
                continue;
            }
            var run = value[start..i];
            span = Ensure(writer, span, ref pos, run.Length + 6);
            run.CopyTo(span[pos..]);
            pos += run.Length;
            span[pos++] = (byte)'\\';
            switch (b)
            {
                case (byte)'"': span[pos++] = (byte)'"'; break;
                case (byte)'\\': span[pos++] = (byte)'\\'; break;
                case 0x08: span[pos++] = (byte)'b'; break;
                case 0x09: span[pos++] = (byte)'t'; break;
                case 0x0A: span[pos++] = (byte)'n'; break;
                case 0x0C: span[pos++] = (byte)'f'; break;
                case 0x0D: span[pos++] = (byte)'r'; break;
                default:
                    span[pos++] = (byte)'u';
                    span[pos++] = (byte)'0';
                    span[pos++] = (byte)'0';
                    span[pos++] = Hex[b >> 4];
                    span[pos++] = Hex[b & 0xF];
                    break;
            }
            start = i + 1;
        }
        var tail = value[start..];
        span = Ensure(writer, span, ref pos, tail.Length + 1);
        tail.CopyTo(span[pos..]);
        pos += tail.Length;
        span[pos++] = (byte)'"';
        writer.Advance(pos);
    }

    /// <summary>Makes room for <paramref name="needed"/> more bytes, flushing what is written so far if necessary.</summary>
    private static Span<byte> Ensure(IBufferWriter<byte> writer, Span<byte> span, scoped ref int pos, int needed)
    {
        if (span.Length - pos >= needed)
        {
            return span;
        }
        writer.Advance(pos);
        pos = 0;
        return writer.GetSpan(needed);
    }
}
