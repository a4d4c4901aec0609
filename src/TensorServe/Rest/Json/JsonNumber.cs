namespace TensorServe.Rest.Json;

/// <summary>Which RapidJSON handler a number token reaches, and so which <c>Is*()</c> tests it passes.</summary>
internal enum JsonNumberKind : byte
{
    /// <summary><c>Handler::Int</c>: a negative integer in the int32 range.</summary>
    Int,

    /// <summary><c>Handler::Uint</c>: 0 .. 2^32-1 (<c>-0</c> included, as RapidJSON reads it as the int 0).</summary>
    Uint,

    /// <summary><c>Handler::Int64</c>: a negative integer below the int32 range.</summary>
    Int64,

    /// <summary><c>Handler::Uint64</c>: 2^32 .. 2^64-1.</summary>
    Uint64,

    /// <summary><c>Handler::Double</c>: fraction, exponent, NaN/Inf, or an integer beyond the 64-bit ranges.</summary>
    Double,
}

/// <summary>A number token classified and valued as a RapidJSON DOM number (spec §1.5 "Number classification").</summary>
internal readonly struct JsonNumber
{
    private readonly long _signed;
    private readonly ulong _unsigned;
    private readonly double _double;

    private JsonNumber(JsonNumberKind kind, long signedValue, ulong unsignedValue, double doubleValue)
    {
        Kind = kind;
        _signed = signedValue;
        _unsigned = unsignedValue;
        _double = doubleValue;
    }

    public JsonNumberKind Kind { get; }

    /// <summary>RapidJSON <c>IsInt()</c>: an integer token in the int32 range.</summary>
    public bool IsInt => Kind switch
    {
        JsonNumberKind.Int => true,
        JsonNumberKind.Uint => _unsigned <= int.MaxValue,
        _ => false,
    };

    /// <summary>RapidJSON <c>IsUint()</c>.</summary>
    public bool IsUint => Kind == JsonNumberKind.Uint;

    /// <summary>RapidJSON <c>IsInt64()</c>.</summary>
    public bool IsInt64 => Kind switch
    {
        JsonNumberKind.Int or JsonNumberKind.Int64 or JsonNumberKind.Uint => true,
        JsonNumberKind.Uint64 => _unsigned <= long.MaxValue,
        _ => false,
    };

    /// <summary>RapidJSON <c>IsUint64()</c>.</summary>
    public bool IsUint64 => Kind is JsonNumberKind.Uint or JsonNumberKind.Uint64;

    public bool IsDouble => Kind == JsonNumberKind.Double;

    public int GetInt32() => Kind == JsonNumberKind.Int ? (int)_signed : (int)_unsigned;

    public uint GetUInt32() => (uint)_unsigned;

    public long GetInt64() => Kind is JsonNumberKind.Int or JsonNumberKind.Int64 ? _signed : (long)_unsigned;

    public ulong GetUInt64() => _unsigned;

    /// <summary>RapidJSON <c>GetDouble()</c>: integers convert with C++'s (correctly rounded) integer-to-double cast.</summary>
    public double GetDouble() => Kind switch
    {
        JsonNumberKind.Int or JsonNumberKind.Int64 => _signed,
        JsonNumberKind.Uint or JsonNumberKind.Uint64 => _unsigned,
        _ => _double,
    };

    public static JsonNumber FromNegative(long value) =>
        new(value >= int.MinValue ? JsonNumberKind.Int : JsonNumberKind.Int64, value, 0, 0);

    public static JsonNumber FromUnsigned(ulong value) =>
        new(value <= uint.MaxValue ? JsonNumberKind.Uint : JsonNumberKind.Uint64, 0, value, 0);

    public static JsonNumber FromDouble(double value) => new(JsonNumberKind.Double, 0, 0, value);
}
