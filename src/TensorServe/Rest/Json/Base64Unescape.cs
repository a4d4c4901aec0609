namespace TensorServe.Rest.Json;

/// <summary>
/// <c>absl::Base64Unescape</c> as TF Serving uses it for <c>{"b64": ...}</c> values (spec §1.5): the standard
/// alphabet; ASCII whitespace anywhere is skipped; the data ends at the first '=' or '.', after which only padding
/// characters and whitespace may follow; the padding must be absent or exactly complete the last quantum; a lone
/// trailing 6-bit character is an error. Unused low bits of the last quantum are not checked.
/// </summary>
internal static class Base64Unescape
{
    /// <summary>absl's output bound for <paramref name="encodedLength"/> input bytes.</summary>
    public static int MaxDecodedLength(int encodedLength) => (3 * (encodedLength / 4)) + (encodedLength % 4);

    public static bool TryDecode(ReadOnlySpan<byte> encoded, Span<byte> destination, out int written)
    {
        written = 0;
        var quantum = 0; // characters in the current 4-character group
        var bits = 0u;
        var i = 0;
        for (; i < encoded.Length; i++)
        {
            var c = encoded[i];
            var value = Decode(c);
            if (value >= 0)
            {
                bits = (bits << 6) | (uint)value;
                if (++quantum == 4)
                {
                    destination[written++] = (byte)(bits >> 16);
                    destination[written++] = (byte)(bits >> 8);
                    destination[written++] = (byte)bits;
                    quantum = 0;
                    bits = 0;
                }
                continue;
            }
            if (IsSpace(c))
            {
                continue;
            }
            if (c is (byte)'=' or (byte)'.')
            {
                break;
            }
            return false;
        }

        var padding = 0;
        for (; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c is (byte)'=' or (byte)'.')
            {
                padding++;
            }
            else if (!IsSpace(c))
            {
                return false;
            }
        }

        int expectedPadding;
        switch (quantum)
        {
            case 0:
                expectedPadding = 0;
                break;
            case 1:
                return false;
            case 2:
                destination[written++] = (byte)(bits >> 4);
                expectedPadding = 2;
                break;
            default:
                destination[written++] = (byte)(bits >> 10);
                destination[written++] = (byte)(bits >> 2);
                expectedPadding = 1;
                break;
        }
        return padding == 0 || padding == expectedPadding;
    }

    private static int Decode(byte c) => c switch
    {
        >= (byte)'A' and <= (byte)'Z' => c - 'A',
        >= (byte)'a' and <= (byte)'z' => c - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => c - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        _ => -1,
    };

    // absl::ascii_isspace: space, \t, \n, \v, \f, \r.
    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or 0x0B or 0x0C or (byte)'\r';
}
