using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace TensorServe.Rest.Json;

internal enum JsonTokenType : byte
{
    None,
    StartObject,
    EndObject,
    StartArray,
    EndArray,
    PropertyName,
    String,
    Number,
    True,
    False,
    Null,
}

/// <summary>
/// A pull reader over UTF-8 bytes with RapidJSON 1.1.0's grammar, error texts and error offsets, as TF Serving parses
/// REST bodies (<c>kParseIterativeFlag | kParseNanAndInfFlag | kParseStopWhenDoneFlag</c> over a <c>MemoryStream</c>):
/// <list type="bullet">
/// <item>a leading UTF-8 BOM (each of EF, BB, BF, in order, if present) is skipped; offsets still count it;</item>
/// <item>whitespace is space, \t, \n, \r; the end of input and a NUL byte both read as RapidJSON's end marker;</item>
/// <item><c>NaN</c>, <c>Inf</c>, <c>Infinity</c> with optional <c>-</c> are numbers;</item>
/// <item>after one root value the reader stops: trailing bytes are never looked at;</item>
/// <item>strings are raw bytes; no UTF-8 validation (RapidJSON's default), so "Invalid encoding" never happens.</item>
/// </list>
/// Nesting is tracked in a bit stack (pooled beyond 64 levels), so any depth parses without recursion.
/// Syntax errors throw <see cref="JsonSyntaxException"/>. Dispose returns the pooled stack.
/// </summary>
internal ref struct JsonTokenizer
{
    private const int InlineDepth = 64;

    private static readonly SearchValues<byte> StringSpecials = SearchValues.Create(
        [(byte)'"', (byte)'\\', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
            25, 26, 27, 28, 29, 30, 31]);

    private readonly ReadOnlySpan<byte> _json;
    private int _pos;
    private State _state;
    private int _depth;
    private ulong _inlineKinds;   // bit set = array, for levels 0..63
    private byte[]? _deepKinds;   // bits for levels 64.., rented
    private bool _stringHasEscapes;
    private JsonNumber _number;
    private bool _doubleDeferred;

    /// <summary>Reads one root value starting at <paramref name="start"/> (0 for a whole body; BOM skipped only there).</summary>
    public JsonTokenizer(ReadOnlySpan<byte> json, int start = 0)
    {
        _json = json;
        _pos = start;
        if (start == 0)
        {
            // RapidJSON's EncodedInputStream<UTF8<>, MemoryStream> drops EF, BB, BF independently.
            if (Peek() == 0xEF)
            {
                _pos++;
            }
            if (Peek() == 0xBB)
            {
                _pos++;
            }
            if (Peek() == 0xBF)
            {
                _pos++;
            }
        }
    }

    private enum State : byte
    {
        Start,
        Finish,
        ObjectInitial,
        MemberKey,
        KeyValueDelimiter,
        MemberValue,
        MemberDelimiter,
        ArrayInitial,
        Element,
        ElementDelimiter,
    }

    public JsonTokenType TokenType { get; private set; }

    /// <summary>Offset of the current token's first byte (the quote of a string, the bracket of a container).</summary>
    public int TokenStart { get; private set; }

    /// <summary>Offset just past the current token.</summary>
    public int TokenEnd { get; private set; }

    /// <summary>Open containers after the current token (1 right after the root's StartObject).</summary>
    public readonly int Depth => _depth;

    /// <summary>The current string or property name between its quotes, still escaped.</summary>
    public readonly ReadOnlySpan<byte> RawString => _json[(TokenStart + 1)..(TokenEnd - 1)];

    /// <summary>Whether <see cref="RawString"/> contains escapes (else it is the value itself).</summary>
    public readonly bool StringHasEscapes => _stringHasEscapes;

    /// <summary>
    /// The current number. A fraction/exponent token's value is parsed here, on demand, not while tokenizing: the
    /// validation and indexing passes over a body never need it, and parsing doubles dominates the cost.
    /// </summary>
    public readonly JsonNumber Number => _doubleDeferred && TokenType == JsonTokenType.Number
        ? JsonNumber.FromDouble(ParseDouble(_json[TokenStart..TokenEnd]))
        : _number;

    /// <summary>Advances to the next token; false once the root value is complete.</summary>
    public bool Read()
    {
        while (true)
        {
            if (_state == State.Finish)
            {
                return false;
            }
            SkipWhitespace();
            var c = Peek();
            if (c == 0)
            {
                ThrowForState();
            }
            switch (_state)
            {
                case State.Start:
                    if (c is (byte)']' or (byte)'}' or (byte)',' or (byte)':')
                    {
                        ThrowForState();
                    }
                    ReadValue(c);
                    return true;
                case State.ObjectInitial:
                case State.MemberDelimiter:
                    if (c == (byte)'}' && _state == State.ObjectInitial)
                    {
                        EndContainer(JsonTokenType.EndObject);
                        return true;
                    }
                    if (c != (byte)'"')
                    {
                        // A '}' after ',' is RapidJSON's trailing-comma case: the same "missing name" error.
                        Throw(JsonParseError.ObjectMissName, _pos);
                    }
                    ReadString(JsonTokenType.PropertyName);
                    _state = State.MemberKey;
                    return true;
                case State.MemberKey:
                    if (c != (byte)':')
                    {
                        ThrowForState();
                    }
                    _pos++;
                    _state = State.KeyValueDelimiter;
                    continue;
                case State.KeyValueDelimiter:
                case State.ArrayInitial:
                case State.ElementDelimiter:
                    if (c == (byte)']' && _state == State.ArrayInitial)
                    {
                        EndContainer(JsonTokenType.EndArray);
                        return true;
                    }
                    if (c is (byte)']' or (byte)'}' or (byte)',' or (byte)':')
                    {
                        ThrowForState();
                    }
                    ReadValue(c);
                    return true;
                case State.MemberValue:
                    if (c == (byte)',')
                    {
                        _pos++;
                        _state = State.MemberDelimiter;
                        continue;
                    }
                    if (c != (byte)'}')
                    {
                        ThrowForState();
                    }
                    EndContainer(JsonTokenType.EndObject);
                    return true;
                default: // Element
                    if (c == (byte)',')
                    {
                        _pos++;
                        _state = State.ElementDelimiter;
                        continue;
                    }
                    if (c != (byte)']')
                    {
                        ThrowForState();
                    }
                    EndContainer(JsonTokenType.EndArray);
                    return true;
            }
        }
    }

    /// <summary>When on StartObject/StartArray, reads through the matching end token; otherwise does nothing.</summary>
    public void Skip()
    {
        if (TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return;
        }
        var target = _depth - 1;
        while (_depth > target)
        {
            Read();
        }
    }

    /// <summary>Unescapes the current string into <paramref name="destination"/> (at least <c>RawString.Length</c> long).</summary>
    public readonly int CopyString(Span<byte> destination) => Unescape(RawString, _stringHasEscapes, destination);

    /// <summary>Whether the current (unescaped) string equals <paramref name="text"/> byte for byte.</summary>
    public readonly bool StringEquals(ReadOnlySpan<byte> text)
    {
        var raw = RawString;
        if (!_stringHasEscapes)
        {
            return raw.SequenceEqual(text);
        }
        if (raw.Length > 256)
        {
            var rented = ArrayPool<byte>.Shared.Rent(raw.Length);
            try
            {
                return rented.AsSpan(0, Unescape(raw, true, rented)).SequenceEqual(text);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        Span<byte> buffer = stackalloc byte[256];
        return buffer[..Unescape(raw, true, buffer)].SequenceEqual(text);
    }

    public void Dispose()
    {
        if (_deepKinds is not null)
        {
            ArrayPool<byte>.Shared.Return(_deepKinds);
            _deepKinds = null;
        }
    }

    /// <summary>
    /// Decodes a validated raw string: simple escapes, <c>\uXXXX</c> (surrogate pairs combined, lone low surrogates
    /// encoded as 3 bytes like RapidJSON's <c>UTF8::Encode</c>); every other byte is copied.
    /// </summary>
    public static int Unescape(ReadOnlySpan<byte> raw, bool hasEscapes, Span<byte> destination)
    {
        if (!hasEscapes)
        {
            raw.CopyTo(destination);
            return raw.Length;
        }
        var written = 0;
        var i = 0;
        while (i < raw.Length)
        {
            var next = raw[i..].IndexOf((byte)'\\');
            if (next < 0)
            {
                raw[i..].CopyTo(destination[written..]);
                return written + raw.Length - i;
            }
            raw.Slice(i, next).CopyTo(destination[written..]);
            written += next;
            i += next + 1;
            var e = raw[i++];
            switch (e)
            {
                case (byte)'b': destination[written++] = 0x08; break;
                case (byte)'f': destination[written++] = 0x0C; break;
                case (byte)'n': destination[written++] = 0x0A; break;
                case (byte)'r': destination[written++] = 0x0D; break;
                case (byte)'t': destination[written++] = 0x09; break;
                case (byte)'u':
                    var codepoint = Hex4(raw.Slice(i, 4));
                    i += 4;
                    if (codepoint is >= 0xD800 and <= 0xDBFF)
                    {
                        var low = Hex4(raw.Slice(i + 2, 4));
                        i += 6;
                        codepoint = (((codepoint - 0xD800) << 10) | (low - 0xDC00)) + 0x10000;
                    }
                    written += EncodeUtf8(codepoint, destination[written..]);
                    break;
                default: destination[written++] = e; break; // '"', '\\', '/'
            }
        }
        return written;
    }

    private static int Hex4(ReadOnlySpan<byte> hex)
    {
        var value = 0;
        foreach (var c in hex)
        {
            value = (value << 4) | HexValue(c);
        }
        return value;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };

    private static int EncodeUtf8(int codepoint, Span<byte> destination)
    {
        if (codepoint <= 0x7F)
        {
            destination[0] = (byte)codepoint;
            return 1;
        }
        if (codepoint <= 0x7FF)
        {
            destination[0] = (byte)(0xC0 | (codepoint >> 6));
            destination[1] = (byte)(0x80 | (codepoint & 0x3F));
            return 2;
        }
        if (codepoint <= 0xFFFF)
        {
            destination[0] = (byte)(0xE0 | (codepoint >> 12));
            destination[1] = (byte)(0x80 | ((codepoint >> 6) & 0x3F));
            destination[2] = (byte)(0x80 | (codepoint & 0x3F));
            return 3;
        }
        destination[0] = (byte)(0xF0 | (codepoint >> 18));
        destination[1] = (byte)(0x80 | ((codepoint >> 12) & 0x3F));
        destination[2] = (byte)(0x80 | ((codepoint >> 6) & 0x3F));
        destination[3] = (byte)(0x80 | (codepoint & 0x3F));
        return 4;
    }

    /// <summary>RapidJSON's <c>MemoryStream::Peek</c>: 0 at the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly byte Peek() => (uint)_pos < (uint)_json.Length ? _json[_pos] : (byte)0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Consume(byte expected)
    {
        if (Peek() != expected || expected == 0)
        {
            return false;
        }
        _pos++;
        return true;
    }

    private void SkipWhitespace()
    {
        while ((uint)_pos < (uint)_json.Length)
        {
            var c = _json[_pos];
            if (c != (byte)' ' && c != (byte)'\n' && c != (byte)'\r' && c != (byte)'\t')
            {
                return;
            }
            _pos++;
        }
    }

    /// <summary>RapidJSON's <c>HandleError</c>: the error for an unexpected token (or the end) in the current state.</summary>
    [DoesNotReturn]
    private readonly void ThrowForState()
    {
        var error = _state switch
        {
            State.Start => JsonParseError.DocumentEmpty,
            State.Finish => JsonParseError.DocumentRootNotSingular,
            State.ObjectInitial or State.MemberDelimiter => JsonParseError.ObjectMissName,
            State.MemberKey => JsonParseError.ObjectMissColon,
            State.MemberValue => JsonParseError.ObjectMissCommaOrCurlyBracket,
            State.Element => JsonParseError.ArrayMissCommaOrSquareBracket,
            _ => JsonParseError.ValueInvalid,
        };
        Throw(error, _pos);
    }

    [DoesNotReturn]
    [StackTraceHidden]
    private static void Throw(JsonParseError error, int offset) => throw new JsonSyntaxException(error, offset);

    /// <summary>A value where one may start (the token is known not to be a closing bracket, comma or colon).</summary>
    private void ReadValue(byte c)
    {
        // The state after a complete value: the root finishes, a member value or an array element follows.
        var after = _state switch
        {
            State.Start => State.Finish,
            State.KeyValueDelimiter => State.MemberValue,
            _ => State.Element,
        };
        TokenStart = _pos;
        switch (c)
        {
            case (byte)'{':
                Push(isArray: false);
                _pos++;
                _state = State.ObjectInitial;
                TokenType = JsonTokenType.StartObject;
                TokenEnd = _pos;
                return;
            case (byte)'[':
                Push(isArray: true);
                _pos++;
                _state = State.ArrayInitial;
                TokenType = JsonTokenType.StartArray;
                TokenEnd = _pos;
                return;
            case (byte)'"':
                ReadString(JsonTokenType.String);
                break;
            case (byte)'n':
                ReadLiteral("ull"u8, JsonTokenType.Null);
                break;
            case (byte)'t':
                ReadLiteral("rue"u8, JsonTokenType.True);
                break;
            case (byte)'f':
                ReadLiteral("alse"u8, JsonTokenType.False);
                break;
            default:
                ReadNumber();
                break;
        }
        _state = after;
    }

    private void ReadLiteral(ReadOnlySpan<byte> rest, JsonTokenType type)
    {
        _pos++;
        foreach (var expected in rest)
        {
            if (!Consume(expected))
            {
                Throw(JsonParseError.ValueInvalid, _pos);
            }
        }
        TokenType = type;
        TokenEnd = _pos;
    }

    private void EndContainer(JsonTokenType type)
    {
        TokenStart = _pos;
        _pos++;
        TokenEnd = _pos;
        TokenType = type;
        _depth--;
        _state = _depth == 0 ? State.Finish : IsArrayAt(_depth - 1) ? State.Element : State.MemberValue;
    }

    private void Push(bool isArray)
    {
        if (_depth < InlineDepth)
        {
            var bit = 1UL << _depth;
            _inlineKinds = isArray ? _inlineKinds | bit : _inlineKinds & ~bit;
        }
        else
        {
            var index = _depth - InlineDepth;
            if (_deepKinds is null || (index >> 3) >= _deepKinds.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(64, (_deepKinds?.Length ?? 0) * 2));
                if (_deepKinds is not null)
                {
                    _deepKinds.CopyTo(bigger, 0);
                    ArrayPool<byte>.Shared.Return(_deepKinds);
                }
                _deepKinds = bigger;
            }
            var mask = (byte)(1 << (index & 7));
            ref var cell = ref _deepKinds[index >> 3];
            cell = isArray ? (byte)(cell | mask) : (byte)(cell & ~mask);
        }
        _depth++;
    }

    private readonly bool IsArrayAt(int level) => level < InlineDepth
        ? (_inlineKinds & (1UL << level)) != 0
        : (_deepKinds![(level - InlineDepth) >> 3] & (1 << ((level - InlineDepth) & 7))) != 0;

    /// <summary>RapidJSON's <c>ParseString</c>/<c>ParseStringToStream</c> checks, without copying.</summary>
    private void ReadString(JsonTokenType type)
    {
        TokenStart = _pos;
        _pos++; // opening quote
        var escapes = false;
        while (true)
        {
            var rest = _json[_pos..];
            var special = rest.IndexOfAny(StringSpecials);
            if (special < 0)
            {
                _pos = _json.Length;
                Throw(JsonParseError.StringMissQuotationMark, _pos);
            }
            _pos += special;
            var c = _json[_pos];
            if (c == (byte)'"')
            {
                _pos++;
                break;
            }
            if (c == (byte)'\\')
            {
                escapes = true;
                ReadEscape();
                continue;
            }
            // A raw control byte; NUL is RapidJSON's end-of-stream marker.
            Throw(c == 0 ? JsonParseError.StringMissQuotationMark : JsonParseError.StringEscapeInvalid, _pos);
        }
        TokenType = type;
        TokenEnd = _pos;
        _stringHasEscapes = escapes;
    }

    private void ReadEscape()
    {
        var escapeOffset = _pos;
        _pos++;
        var e = Peek();
        switch (e)
        {
            case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                _pos++;
                return;
            case (byte)'u':
                _pos++;
                var codepoint = ReadHex4(escapeOffset);
                if (codepoint is >= 0xD800 and <= 0xDBFF)
                {
                    if (!Consume((byte)'\\') || !Consume((byte)'u'))
                    {
                        Throw(JsonParseError.StringUnicodeSurrogateInvalid, escapeOffset);
                    }
                    var low = ReadHex4(escapeOffset);
                    if (low is < 0xDC00 or > 0xDFFF)
                    {
                        Throw(JsonParseError.StringUnicodeSurrogateInvalid, escapeOffset);
                    }
                }
                return;
            default:
                Throw(JsonParseError.StringEscapeInvalid, escapeOffset);
                return;
        }
    }

    private int ReadHex4(int escapeOffset)
    {
        var value = 0;
        for (var i = 0; i < 4; i++)
        {
            var digit = HexValue(Peek());
            if (digit < 0)
            {
                Throw(JsonParseError.StringUnicodeEscapeInvalidHex, escapeOffset);
            }
            value = (value << 4) | digit;
            _pos++;
        }
        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool PeekDigit() => (uint)(Peek() - '0') <= 9;

    /// <summary>
    /// RapidJSON 1.1.0's <c>ParseNumber</c> (64-bit build, normal precision): the same digit loops decide the number
    /// kind and the "too big" / missing-part errors and their offsets. Double values are then taken from .NET's
    /// correctly rounded parse of the token text; RapidJSON's normal-precision <c>StrtodNormalPrecision</c> can differ
    /// from it in the last bit for long mantissas, which we accept rather than emulate.
    /// </summary>
    private void ReadNumber()
    {
        var start = _pos;
        TokenStart = start;
        var minus = Consume((byte)'-');
        uint i = 0;
        ulong i64 = 0;
        var use64Bit = false;
        var significandDigits = 0;
        var nanOrInf = false;
        var nanOrInfEnd = 0;
        double d = 0;

        var c = Peek();
        if (c == (byte)'0')
        {
            _pos++;
        }
        else if (c is >= (byte)'1' and <= (byte)'9')
        {
            i = (uint)(c - '0');
            _pos++;
            // Stay 32-bit while the value fits int32 (negative) or uint32 (positive).
            var limit = minus ? 214748364u : 429496729u;
            var lastDigit = minus ? (byte)'8' : (byte)'5';
            while (PeekDigit())
            {
                if (i >= limit && (i != limit || Peek() > lastDigit))
                {
                    i64 = i;
                    use64Bit = true;
                    break;
                }
                i = (i * 10) + (uint)(Peek() - '0');
                _pos++;
                significandDigits++;
            }
        }
        else if (c is (byte)'I' or (byte)'N')
        {
            nanOrInf = true;
            if (Consume((byte)'N') && Consume((byte)'a') && Consume((byte)'N'))
            {
                d = double.NaN; // RapidJSON ignores the sign of NaN
            }
            else if (Consume((byte)'I') && Consume((byte)'n') && Consume((byte)'f'))
            {
                d = minus ? double.NegativeInfinity : double.PositiveInfinity;
                if (Peek() == (byte)'i' && !(Consume((byte)'i') && Consume((byte)'n') && Consume((byte)'i') &&
                                             Consume((byte)'t') && Consume((byte)'y')))
                {
                    Throw(JsonParseError.ValueInvalid, _pos);
                }
            }
            else
            {
                Throw(JsonParseError.ValueInvalid, _pos);
            }
            nanOrInfEnd = _pos;
        }
        else
        {
            Throw(JsonParseError.ValueInvalid, _pos);
        }

        var useDouble = false;
        if (use64Bit)
        {
            var limit = minus ? 0x0CCCCCCCCCCCCCCCUL : 0x1999999999999999UL;
            var lastDigit = minus ? (byte)'8' : (byte)'5';
            while (PeekDigit())
            {
                if (i64 >= limit && (i64 != limit || Peek() > lastDigit))
                {
                    d = i64;
                    useDouble = true;
                    break;
                }
                i64 = (i64 * 10) + (uint)(Peek() - '0');
                _pos++;
                significandDigits++;
            }
        }
        if (useDouble)
        {
            while (PeekDigit())
            {
                if (d >= 1.7976931348623157e307)
                {
                    Throw(JsonParseError.NumberTooBig, start);
                }
                d = (d * 10) + (Peek() - '0');
                _pos++;
            }
        }

        var expFrac = 0;
        if (Consume((byte)'.'))
        {
            if (!PeekDigit())
            {
                Throw(JsonParseError.NumberMissFraction, _pos);
            }
            if (!useDouble)
            {
                if (!use64Bit)
                {
                    i64 = i;
                }
                while (PeekDigit())
                {
                    if (i64 > 0x1FFFFFFFFFFFFFUL)
                    {
                        break;
                    }
                    i64 = (i64 * 10) + (uint)(Peek() - '0');
                    _pos++;
                    expFrac--;
                    if (i64 != 0)
                    {
                        significandDigits++;
                    }
                }
                d = i64;
                useDouble = true;
            }
            while (PeekDigit())
            {
                if (significandDigits < 17)
                {
                    d = (d * 10.0) + (Peek() - '0');
                    expFrac--;
                    if (d > 0.0)
                    {
                        significandDigits++;
                    }
                }
                _pos++;
            }
        }

        if (Consume((byte)'e') || Consume((byte)'E'))
        {
            useDouble = true;
            var expMinus = false;
            if (!Consume((byte)'+'))
            {
                expMinus = Consume((byte)'-');
            }
            if (!PeekDigit())
            {
                Throw(JsonParseError.NumberMissExponent, _pos);
            }
            var exp = Peek() - '0';
            _pos++;
            if (expMinus)
            {
                while (PeekDigit())
                {
                    exp = (exp * 10) + (Peek() - '0');
                    _pos++;
                    if (exp >= 214748364)
                    {
                        while (PeekDigit())
                        {
                            _pos++;
                        }
                    }
                }
            }
            else
            {
                var maxExp = 308 - expFrac;
                while (PeekDigit())
                {
                    exp = (exp * 10) + (Peek() - '0');
                    _pos++;
                    if (exp > maxExp)
                    {
                        Throw(JsonParseError.NumberTooBig, start);
                    }
                }
            }
        }

        TokenType = JsonTokenType.Number;
        TokenEnd = _pos;
        _doubleDeferred = useDouble && !nanOrInf;
        if (_doubleDeferred)
        {
            _number = default;
        }
        else if (useDouble)
        {
            // RapidJSON 1.1.0 keeps reading a fraction/exponent after NaN/Inf with a zero significand ("NaN.5" is 0.5).
            _number = JsonNumber.FromDouble(ParseAfterNanOrInf(_json[nanOrInfEnd.._pos], minus));
        }
        else if (nanOrInf)
        {
            _number = JsonNumber.FromDouble(d);
        }
        else if (minus)
        {
            var magnitude = use64Bit ? i64 : i;
            _number = magnitude == 0 ? JsonNumber.FromUnsigned(0) : JsonNumber.FromNegative((long)(0 - magnitude));
        }
        else
        {
            _number = JsonNumber.FromUnsigned(use64Bit ? i64 : i);
        }
    }

    private static double ParseDouble(ReadOnlySpan<byte> text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidOperationException("A validated number token did not parse.");
        }
        return value;
    }

    private static double ParseAfterNanOrInf(ReadOnlySpan<byte> tail, bool minus)
    {
        Span<byte> text = stackalloc byte[Math.Min(tail.Length, 64) + 1];
        if (tail.Length + 1 > text.Length)
        {
            var rented = ArrayPool<byte>.Shared.Rent(tail.Length + 1);
            try
            {
                rented[0] = (byte)'0';
                tail.CopyTo(rented.AsSpan(1));
                var v = ParseDouble(rented.AsSpan(0, tail.Length + 1));
                return minus ? -v : v;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        text[0] = (byte)'0';
        tail.CopyTo(text[1..]);
        var value = ParseDouble(text);
        return minus ? -value : value;
    }
}
