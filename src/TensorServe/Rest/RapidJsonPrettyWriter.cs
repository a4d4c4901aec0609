using System.Buffers;
using System.Buffers.Text;

namespace TensorServe.Rest;

/// <summary>
/// Emits the exact bytes of RapidJSON 1.1.0's <c>PrettyWriter</c> (4-space indent) as TF Serving drives it (spec §1.6):
/// members on their own lines after <c>"key": </c>; array elements each on their own line, except while
/// <see cref="SingleLineArrays"/> (<c>kFormatSingleLineArray</c>) is set, when they follow <c>", "</c> and the closing
/// bracket stays on the line. The option is read when each value is written and when an array closes, as RapidJSON does.
/// Empty containers print as <c>{}</c> / <c>[]</c>. No trailing newline.
/// </summary>
internal ref struct RapidJsonPrettyWriter
{
    private const int IndentWidth = 4;

    private readonly IBufferWriter<byte> _writer;
    private readonly Span<Level> _levels;
    private int _depth;

    /// <param name="writer">Destination.</param>
    /// <param name="levels">Nesting stack; its length is the deepest nesting the caller will write.</param>
    public RapidJsonPrettyWriter(IBufferWriter<byte> writer, Span<Level> levels)
    {
        _writer = writer;
        _levels = levels;
    }

    /// <summary>RapidJSON's <c>kFormatSingleLineArray</c>.</summary>
    public bool SingleLineArrays { get; set; }

    public void StartObject() => Start(inArray: false, (byte)'{');

    public void EndObject()
    {
        var empty = _levels[--_depth].ValueCount == 0;
        var span = _writer.GetSpan(2 + (_depth * IndentWidth));
        var pos = 0;
        if (!empty)
        {
            pos = NewLine(span);
        }
        span[pos++] = (byte)'}';
        _writer.Advance(pos);
    }

    public void StartArray() => Start(inArray: true, (byte)'[');

    public void EndArray()
    {
        var empty = _levels[--_depth].ValueCount == 0;
        var span = _writer.GetSpan(2 + (_depth * IndentWidth));
        var pos = 0;
        if (!empty && !SingleLineArrays)
        {
            pos = NewLine(span);
        }
        span[pos++] = (byte)']';
        _writer.Advance(pos);
    }

    /// <summary>An object member name (RapidJSON writes keys as strings).</summary>
    public void Key(ReadOnlySpan<byte> name) => String(name);

    /// <summary>A string value with RapidJSON's escaping.</summary>
    public void String(ReadOnlySpan<byte> value)
    {
        var span = _writer.GetSpan(MaxPrefixLength);
        _writer.Advance(Prefix(span));
        RapidJsonEscaping.WriteQuoted(_writer, value);
    }

    /// <summary>A string value holding the standard base64 (with padding) of <paramref name="data"/>.</summary>
    public void Base64String(ReadOnlySpan<byte> data)
    {
        const int ChunkInput = 3 * 1024; // multiple of 3, so chunks concatenate to one base64 text
        var span = _writer.GetSpan(MaxPrefixLength + 1);
        var pos = Prefix(span);
        span[pos++] = (byte)'"';
        _writer.Advance(pos);
        while (true)
        {
            var chunk = data.Length > ChunkInput ? data[..ChunkInput] : data;
            var final = chunk.Length == data.Length;
            var output = _writer.GetSpan(Base64.GetMaxEncodedToUtf8Length(chunk.Length) + 1);
            Base64.EncodeToUtf8(chunk, output, out _, out var written, isFinalBlock: final);
            if (final)
            {
                output[written++] = (byte)'"';
                _writer.Advance(written);
                return;
            }
            _writer.Advance(written);
            data = data[ChunkInput..];
        }
    }

    public void Float(float value)
    {
        var span = _writer.GetSpan(MaxPrefixLength + JsonNumberFormat.MaxLength);
        var pos = Prefix(span);
        _writer.Advance(pos + JsonNumberFormat.FormatFloat(value, span[pos..]));
    }

    public void Double(double value)
    {
        var span = _writer.GetSpan(MaxPrefixLength + JsonNumberFormat.MaxLength);
        var pos = Prefix(span);
        _writer.Advance(pos + JsonNumberFormat.FormatDouble(value, span[pos..]));
    }

    public void Int64(long value)
    {
        var span = _writer.GetSpan(MaxPrefixLength + 20);
        var pos = Prefix(span);
        Utf8Formatter.TryFormat(value, span[pos..], out var written);
        _writer.Advance(pos + written);
    }

    public void UInt64(ulong value)
    {
        var span = _writer.GetSpan(MaxPrefixLength + 20);
        var pos = Prefix(span);
        Utf8Formatter.TryFormat(value, span[pos..], out var written);
        _writer.Advance(pos + written);
    }

    public void Bool(bool value)
    {
        var text = value ? "true"u8 : "false"u8;
        var span = _writer.GetSpan(MaxPrefixLength + text.Length);
        var pos = Prefix(span);
        text.CopyTo(span[pos..]);
        _writer.Advance(pos + text.Length);
    }

    /// <summary>
    /// A value whose text the caller already formatted (e.g. a number as RapidJSON's own <c>Writer</c> prints it). An
    /// empty <paramref name="text"/> writes only the separator, as RapidJSON does before refusing a NaN/Inf double.
    /// </summary>
    public void RawValue(ReadOnlySpan<byte> text)
    {
        var span = _writer.GetSpan(MaxPrefixLength + text.Length);
        var pos = Prefix(span);
        text.CopyTo(span[pos..]);
        _writer.Advance(pos + text.Length);
    }

    /// <summary>", " or ",\n" + indent or ": " — at most 2 separator bytes, a newline and the current indent.</summary>
    private readonly int MaxPrefixLength => 3 + (_depth * IndentWidth);

    private void Start(bool inArray, byte bracket)
    {
        var span = _writer.GetSpan(MaxPrefixLength + 1);
        var pos = Prefix(span);
        span[pos++] = bracket;
        _writer.Advance(pos);
        _levels[_depth++] = new Level { InArray = inArray };
    }

    /// <summary>RapidJSON's <c>PrettyPrefix</c>: separators and indentation before the next value or key.</summary>
    private int Prefix(Span<byte> span)
    {
        if (_depth == 0)
        {
            return 0;
        }
        ref var level = ref _levels[_depth - 1];
        var pos = 0;
        if (level.InArray)
        {
            if (level.ValueCount > 0)
            {
                span[pos++] = (byte)',';
                if (SingleLineArrays)
                {
                    span[pos++] = (byte)' ';
                }
            }
            if (!SingleLineArrays)
            {
                pos += NewLine(span[pos..]);
            }
        }
        else if (level.ValueCount % 2 == 1)
        {
            span[pos++] = (byte)':';
            span[pos++] = (byte)' ';
        }
        else
        {
            if (level.ValueCount > 0)
            {
                span[pos++] = (byte)',';
            }
            pos += NewLine(span[pos..]);
        }
        level.ValueCount++;
        return pos;
    }

    private readonly int NewLine(Span<byte> span)
    {
        var count = _depth * IndentWidth;
        span[0] = (byte)'\n';
        span.Slice(1, count).Fill((byte)' ');
        return count + 1;
    }

    /// <summary>One open container: RapidJSON's <c>Writer::Level</c>.</summary>
    internal struct Level
    {
        public bool InArray;
        public int ValueCount;
    }
}
