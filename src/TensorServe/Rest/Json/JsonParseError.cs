namespace TensorServe.Rest.Json;

/// <summary>RapidJSON 1.1.0's <c>ParseErrorCode</c> values that its reader can raise with TF Serving's flags.</summary>
internal enum JsonParseError
{
    DocumentEmpty,
    DocumentRootNotSingular,
    ValueInvalid,
    ObjectMissName,
    ObjectMissColon,
    ObjectMissCommaOrCurlyBracket,
    ArrayMissCommaOrSquareBracket,
    StringUnicodeEscapeInvalidHex,
    StringUnicodeSurrogateInvalid,
    StringEscapeInvalid,
    StringMissQuotationMark,
    StringInvalidEncoding,
    NumberTooBig,
    NumberMissFraction,
    NumberMissExponent,
    Termination,
    UnspecificSyntaxError,
}

/// <summary>A syntax error at a byte offset, reported as RapidJSON reports it (spec §1.5 step 2).</summary>
internal sealed class JsonSyntaxException(JsonParseError error, int offset)
    : Exception($"{JsonParseErrors.Text(error)} at offset: {offset}")
{
    public JsonParseError Error { get; } = error;

    /// <summary>RapidJSON's <c>GetErrorOffset()</c>: bytes from the start of the input, BOM included.</summary>
    public int Offset { get; } = offset;
}

internal static class JsonParseErrors
{
    /// <summary>RapidJSON's <c>GetParseError_En</c> texts (client-visible in TF Serving's parse errors).</summary>
    public static string Text(JsonParseError error) => error switch
    {
        JsonParseError.DocumentEmpty => "The document is empty.",
        JsonParseError.DocumentRootNotSingular => "The document root must not be followed by other values.",
        JsonParseError.ValueInvalid => "Invalid value.",
        JsonParseError.ObjectMissName => "Missing a name for object member.",
        JsonParseError.ObjectMissColon => "Missing a colon after a name of object member.",
        JsonParseError.ObjectMissCommaOrCurlyBracket => "Missing a comma or '}' after an object member.",
        JsonParseError.ArrayMissCommaOrSquareBracket => "Missing a comma or ']' after an array element.",
        JsonParseError.StringUnicodeEscapeInvalidHex => "Incorrect hex digit after \\u escape in string.",
        JsonParseError.StringUnicodeSurrogateInvalid => "The surrogate pair in string is invalid.",
        JsonParseError.StringEscapeInvalid => "Invalid escape character in string.",
        JsonParseError.StringMissQuotationMark => "Missing a closing quotation mark in string.",
        JsonParseError.StringInvalidEncoding => "Invalid encoding in string.",
        JsonParseError.NumberTooBig => "Number too big to be stored in double.",
        JsonParseError.NumberMissFraction => "Miss fraction part in number.",
        JsonParseError.NumberMissExponent => "Miss exponent in number.",
        JsonParseError.Termination => "Terminate parsing due to Handler error.",
        _ => "Unspecific syntax error.",
    };
}
