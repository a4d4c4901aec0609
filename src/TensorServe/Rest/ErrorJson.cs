using System.Buffers;
using System.Text;

namespace TensorServe.Rest;

/// <summary>
/// The REST error body, as TF Serving's <c>MakeJsonFromStatus</c> writes it with RapidJSON's PrettyWriter (spec §1.4):
/// <c>{\n    "error": "&lt;message&gt;"\n}</c> — the message only, no code prefix, no trailing newline.
/// </summary>
internal static class ErrorJson
{
    public static void Write(IBufferWriter<byte> writer, string message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        Span<RapidJsonPrettyWriter.Level> levels = stackalloc RapidJsonPrettyWriter.Level[1];
        var json = new RapidJsonPrettyWriter(writer, levels);
        json.StartObject();
        json.Key("error"u8);

        // Error texts are short; encode on the stack when they fit.
        const int StackLimit = 512;
        var byteCount = Encoding.UTF8.GetByteCount(message);
        byte[]? rented = null;
        var bytes = byteCount <= StackLimit
            ? stackalloc byte[StackLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(byteCount));
        try
        {
            var length = Encoding.UTF8.GetBytes(message, bytes);
            json.String(bytes[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        json.EndObject();
    }

    /// <summary>Convenience for tests and callers without a buffer writer.</summary>
    public static byte[] ToUtf8Bytes(string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, message);
        return buffer.WrittenSpan.ToArray();
    }
}
