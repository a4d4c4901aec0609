using System.Text;

namespace TensorServe.Models.Config;

/// <summary>Token kinds of protobuf's <c>io::Tokenizer</c>.</summary>
internal enum TextTokenType
{
    Start,
    End,
    Identifier,
    Integer,
    Float,
    String,
    Symbol,
    Whitespace,
    UrlChars,
}

/// <summary>A token: its kind, its UTF-8 text and where it starts (0-based line, tab-expanded byte column).</summary>
internal readonly record struct TextToken(TextTokenType Type, string Text, int Line, int Column, int EndColumn,
    int Offset, int Length);

/// <summary>
/// The text-format tokenizer: a port of protobuf's C++ <c>io::Tokenizer</c> as <c>TextFormat::Parser</c> configures it
/// (<c>#</c> comments, <c>f</c> suffix on floats, a space required after numbers, no multi-line strings). It works on
/// UTF-8 bytes because protobuf's line/column positions count bytes, with tabs advancing to the next multiple of 8.
/// Unlike protobuf, which records an error and keeps going, the first error is thrown, which is the one protobuf
/// logs first.
/// </summary>
internal sealed class TextFormatTokenizer
{
    private const int TabWidth = 8;

    private readonly byte[] _buffer;
    private readonly Action<int, int, string> _error;
    private int _pos;
    private int _line;
    private int _column;

    public TextFormatTokenizer(byte[] buffer, Action<int, int, string> error)
    {
        _buffer = buffer;
        _error = error;
        Current = new TextToken(TextTokenType.Start, "", 0, 0, 0, 0, 0);
        Previous = Current;
    }

    public TextToken Current { get; private set; }
    public TextToken Previous { get; private set; }

    /// <summary>Return whitespace as a <see cref="TextTokenType.Whitespace"/> token (protobuf's report_whitespace).</summary>
    public bool ReportWhitespace { get; set; }

    /// <summary>Return runs of URL characters as <see cref="TextTokenType.UrlChars"/> (inside <c>[...]</c> of Any).</summary>
    public bool ReportUrlChars { get; set; }

    private bool AtEnd => _pos >= _buffer.Length;

    // protobuf sets current_char_ to '\0' at end of input; a NUL byte in the input looks the same to its checks.
    private byte Ch => _pos < _buffer.Length ? _buffer[_pos] : (byte)0;

    private static bool IsWhitespace(byte c) => c is (byte)' ' or (byte)'\n' or (byte)'\t' or (byte)'\r' or 0x0B or 0x0C;
    private static bool IsUnprintable(byte c) => c is > 0 and < (byte)' ';
    private static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';
    private static bool IsOctalDigit(byte c) => c is >= (byte)'0' and <= (byte)'7';

    private static bool IsHexDigit(byte c) =>
        IsDigit(c) || c is >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private static bool IsLetter(byte c) => c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_';
    private static bool IsAlphanumeric(byte c) => IsLetter(c) || IsDigit(c);
    private static bool IsEscape(byte c) => "abfnrtv\\?'\""u8.Contains(c);
    private static bool IsUrlChar(byte c) => IsAlphanumeric(c) || "-.~!$&()*+,;=%/"u8.Contains(c);

    /// <summary>protobuf's <c>Tokenizer::IsIdentifier</c>.</summary>
    public static bool IsIdentifier(string text)
    {
        if (text.Length == 0 || text[0] > 0x7F || !IsLetter((byte)text[0]))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c > 0x7F || !IsAlphanumeric((byte)c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Advances to the next token; returns false at end of input.</summary>
    public bool Next()
    {
        Previous = Current;
        while (!AtEnd)
        {
            var startLine = _line;
            var startColumn = _column;
            var start = _pos;
            if (TryConsumeOne(IsWhitespace))
            {
                ConsumeZeroOrMore(IsWhitespace);
                if (ReportWhitespace)
                {
                    Current = MakeToken(TextTokenType.Whitespace, start, startLine, startColumn);
                    return true;
                }
            }

            if (TryConsume((byte)'#'))
            {
                while (!AtEnd && Ch != (byte)'\n')
                {
                    NextChar();
                }

                TryConsume((byte)'\n');
                continue;
            }

            if (AtEnd)
            {
                break;
            }

            if (IsUnprintable(Ch) || Ch == 0)
            {
                AddError("Invalid control characters encountered in text.");
            }

            startLine = _line;
            startColumn = _column;
            start = _pos;
            TextTokenType type;
            if (ReportUrlChars)
            {
                if (TryConsumeOne(IsUrlChar))
                {
                    ConsumeZeroOrMore(IsUrlChar);
                    type = TextTokenType.UrlChars;
                }
                else
                {
                    ConsumeSymbol();
                    type = TextTokenType.Symbol;
                }
            }
            else if (TryConsumeOne(IsLetter))
            {
                ConsumeZeroOrMore(IsAlphanumeric);
                type = TextTokenType.Identifier;
            }
            else if (TryConsume((byte)'0'))
            {
                type = ConsumeNumber(startedWithZero: true, startedWithDot: false);
            }
            else if (TryConsume((byte)'.'))
            {
                if (TryConsumeOne(IsDigit))
                {
                    // "blah.123" is not a field followed by a float.
                    if (Previous.Type == TextTokenType.Identifier && startLine == Previous.Line &&
                        startColumn == Previous.EndColumn)
                    {
                        _error(_line, _column - 2, "Need space between identifier and decimal point.");
                    }

                    type = ConsumeNumber(startedWithZero: false, startedWithDot: true);
                }
                else
                {
                    type = TextTokenType.Symbol;
                }
            }
            else if (TryConsumeOne(IsDigit))
            {
                type = ConsumeNumber(startedWithZero: false, startedWithDot: false);
            }
            else if (TryConsume((byte)'"'))
            {
                ConsumeString((byte)'"');
                type = TextTokenType.String;
            }
            else if (TryConsume((byte)'\''))
            {
                ConsumeString((byte)'\'');
                type = TextTokenType.String;
            }
            else
            {
                ConsumeSymbol();
                type = TextTokenType.Symbol;
            }

            Current = MakeToken(type, start, startLine, startColumn);
            return true;
        }

        Current = new TextToken(TextTokenType.End, "", _line, _column, _column, _pos, 0);
        return false;
    }

    /// <summary>The raw UTF-8 bytes of <paramref name="token"/> (string literals keep their quotes).</summary>
    public ReadOnlySpan<byte> RawBytes(in TextToken token) => _buffer.AsSpan(token.Offset, token.Length);

    private TextToken MakeToken(TextTokenType type, int start, int line, int column) =>
        new(type, Encoding.UTF8.GetString(_buffer, start, _pos - start), line, column, _column, start, _pos - start);

    private void AddError(string message) => _error(_line, _column, message);

    private void NextChar()
    {
        var c = _buffer[_pos];
        if (c == (byte)'\n')
        {
            _line++;
            _column = 0;
        }
        else if (c == (byte)'\t')
        {
            _column += TabWidth - (_column % TabWidth);
        }
        else
        {
            _column++;
        }

        _pos++;
    }

    private bool TryConsume(byte c)
    {
        if (!AtEnd && Ch == c)
        {
            NextChar();
            return true;
        }

        return false;
    }

    private bool TryConsumeOne(Func<byte, bool> characterClass)
    {
        if (!AtEnd && characterClass(Ch))
        {
            NextChar();
            return true;
        }

        return false;
    }

    private void ConsumeZeroOrMore(Func<byte, bool> characterClass)
    {
        while (!AtEnd && characterClass(Ch))
        {
            NextChar();
        }
    }

    private void ConsumeOneOrMore(Func<byte, bool> characterClass, string error)
    {
        if (AtEnd || !characterClass(Ch))
        {
            AddError(error);
        }

        ConsumeZeroOrMore(characterClass);
    }

    private void ConsumeSymbol()
    {
        if (Ch >= 0x80)
        {
            AddError($"Interpreting non ascii codepoint {Ch}.");
        }

        NextChar();
    }

    private void ConsumeString(byte delimiter)
    {
        while (true)
        {
            var c = Ch;
            if (c == 0)
            {
                AddError("Unexpected end of string.");
            }

            if (c == (byte)'\n')
            {
                AddError("Multiline strings are not allowed. Did you miss a \"?.");
            }

            if (c == (byte)'\\')
            {
                NextChar();
                if (TryConsumeOne(IsEscape) || TryConsumeOne(IsOctalDigit))
                {
                    // Further octal digits are ordinary characters to the tokenizer.
                }
                else if (TryConsume((byte)'x') || TryConsume((byte)'X'))
                {
                    if (!TryConsumeOne(IsHexDigit))
                    {
                        AddError("Expected hex digits for escape sequence.");
                    }
                }
                else if (TryConsume((byte)'u'))
                {
                    if (!TryConsumeOne(IsHexDigit) || !TryConsumeOne(IsHexDigit) || !TryConsumeOne(IsHexDigit) ||
                        !TryConsumeOne(IsHexDigit))
                    {
                        AddError("Expected four hex digits for \\u escape sequence.");
                    }
                }
                else if (TryConsume((byte)'U'))
                {
                    // Eight hex digits, at most 001fffff (protobuf's check).
                    if (!TryConsume((byte)'0') || !TryConsume((byte)'0') ||
                        !(TryConsume((byte)'0') || TryConsume((byte)'1')) || !TryConsumeOne(IsHexDigit) ||
                        !TryConsumeOne(IsHexDigit) || !TryConsumeOne(IsHexDigit) || !TryConsumeOne(IsHexDigit) ||
                        !TryConsumeOne(IsHexDigit))
                    {
                        AddError("Expected eight hex digits up to 10ffff for \\U escape sequence");
                    }
                }
                else
                {
                    AddError("Invalid escape sequence in string literal.");
                }

                continue;
            }

            NextChar();
            if (c == delimiter)
            {
                return;
            }
        }
    }

    private TextTokenType ConsumeNumber(bool startedWithZero, bool startedWithDot)
    {
        var isFloat = false;
        if (startedWithZero && (TryConsume((byte)'x') || TryConsume((byte)'X')))
        {
            ConsumeOneOrMore(IsHexDigit, "\"0x\" must be followed by hex digits.");
        }
        else if (startedWithZero && !AtEnd && IsDigit(Ch))
        {
            ConsumeZeroOrMore(IsOctalDigit);
            if (!AtEnd && IsDigit(Ch))
            {
                AddError("Numbers starting with leading zero must be in octal.");
            }
        }
        else
        {
            if (startedWithDot)
            {
                isFloat = true;
                ConsumeZeroOrMore(IsDigit);
            }
            else
            {
                ConsumeZeroOrMore(IsDigit);
                if (TryConsume((byte)'.'))
                {
                    isFloat = true;
                    ConsumeZeroOrMore(IsDigit);
                }
            }

            if (TryConsume((byte)'e') || TryConsume((byte)'E'))
            {
                isFloat = true;
                _ = TryConsume((byte)'-') || TryConsume((byte)'+');
                ConsumeOneOrMore(IsDigit, "\"e\" must be followed by exponent.");
            }

            // TextFormat allows a proto1-style 'f' suffix on floats.
            if (TryConsume((byte)'f') || TryConsume((byte)'F'))
            {
                isFloat = true;
            }
        }

        if (!AtEnd && IsLetter(Ch))
        {
            AddError("Need space between number and identifier.");
        }
        else if (!AtEnd && Ch == (byte)'.')
        {
            AddError(isFloat
                ? "Already saw decimal point or exponent; can't have another one."
                : "Hex and octal numbers must be integers.");
        }

        return isFloat ? TextTokenType.Float : TextTokenType.Integer;
    }
}
