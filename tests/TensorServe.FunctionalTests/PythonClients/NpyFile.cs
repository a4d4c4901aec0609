using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace TensorServe.FunctionalTests.PythonClients;

/// <summary>
/// Writes NumPy's <c>.npy</c> format (version 1.0) for float32 arrays, so the Python clients load their inputs with
/// <c>np.load</c> as users' scripts do: magic, version, a little-endian header length, a Python dict literal header
/// padded with spaces and ended by a newline so the data starts at a multiple of 64, then C-order little-endian data.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    public static void WriteFloat32(string path, long[] shape, ReadOnlySpan<float> values)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length)
        {
            throw new ArgumentException($"shape [{string.Join(',', shape)}] needs {count} values, got {values.Length}");
        }
        // A 1-D shape is written "(3,)": Python's one-element tuple.
        var dims = shape.Length == 1
            ? shape[0].ToString(CultureInfo.InvariantCulture) + ","
            : string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        var unpadded = Magic.Length + 2 + header.Length + 1;
        header = header.PadRight(header.Length + ((64 - (unpadded % 64)) % 64)) + "\n";

        using var file = File.Create(path);
        file.Write(Magic);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, checked((ushort)header.Length));
        file.Write(length);
        file.Write(Encoding.ASCII.GetBytes(header));
        Span<byte> element = stackalloc byte[4];
        foreach (var value in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(element, value);
            file.Write(element);
        }
    }
}
