using System.Globalization;
using System.Text;

namespace TensorServe.Tensors;

/// <summary>Shape helpers over <c>long[]</c> dims (row-major, no unknown dims once a tensor exists).</summary>
public static class TensorShape
{
    public static readonly long[] Scalar = [];

    /// <summary>Largest element count a host tensor may hold: buffers are indexed by int.</summary>
    public const long MaxElements = int.MaxValue;

    /// <summary>Element count, or -1 when a dim is negative or the product does not fit <see cref="MaxElements"/>.</summary>
    public static long ElementCount(ReadOnlySpan<long> dims)
    {
        long n = 1;
        foreach (var d in dims)
        {
            if (d < 0)
            {
                return -1;
            }
            if (d == 0)
            {
                n = 0;
                continue;
            }
            if (n > MaxElements / d)
            {
                // Keep scanning: a later zero dim still makes the tensor empty.
                n = long.MaxValue;
                continue;
            }
            n = n == long.MaxValue ? n : n * d;
        }
        return n > MaxElements ? -1 : n;
    }

    /// <summary>TF's shape debug string: <c>[2,3]</c>, <c>[]</c> for a scalar, <c>[?]</c> for unknown rank (null).</summary>
    public static string ToDebugString(ReadOnlySpan<long> dims)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < dims.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            if (dims[i] < 0)
            {
                sb.Append('?');
            }
            else
            {
                sb.Append(dims[i].ToString(CultureInfo.InvariantCulture));
            }
        }
        return sb.Append(']').ToString();
    }

    public static string ToDebugString(long[]? dims) => dims is null ? "[?]" : ToDebugString(dims.AsSpan());
}
