using System.Buffers;
using System.Text;
using TensorServe.Models;
using TensorServe.Tensors;

namespace TensorServe.Rest;

/// <summary>
/// Writes a REST predict response body exactly as TF Serving's <c>MakeJsonFromTensors</c> (spec §1.6): row format
/// (<c>"predictions"</c>, one item per batch element, arrays inside an item on one line) or columnar format
/// (<c>"outputs"</c>, every array element on its own line). Every error is detected before the first byte is written,
/// so a failure never leaves partial output in the response.
/// </summary>
internal static class PredictResponseWriter
{
    private const int StackLevels = 32;

    public static void Write(IBufferWriter<byte> writer, PredictRequestFormat format, PredictResult result) =>
        Write(writer, format, result.Aliases, result.Tensors);

    /// <summary>
    /// Writes outputs <paramref name="aliases"/>[i] = <paramref name="tensors"/>[i] in the given order. Throws
    /// <see cref="ServingException"/> (INVALID_ARGUMENT, TF Serving's text) before writing anything when the outputs
    /// cannot be represented.
    /// </summary>
    public static void Write(IBufferWriter<byte> writer, PredictRequestFormat format, IReadOnlyList<string> aliases,
        IReadOnlyList<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (aliases.Count != tensors.Count)
        {
            throw new ArgumentException("Every output needs exactly one alias.", nameof(aliases));
        }
        var batchSize = Validate(format, aliases, tensors);

        var maxRank = 0;
        var aliasBytesLength = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            maxRank = Math.Max(maxRank, tensors[i].Rank);
            aliasBytesLength += Encoding.UTF8.GetByteCount(aliases[i]);
        }

        // Root object, outer array or object, row item object, one array per dim, a {"b64": ...} object.
        var levelCount = maxRank + 4;
        var levels = levelCount <= StackLevels
            ? stackalloc RapidJsonPrettyWriter.Level[StackLevels]
            : new RapidJsonPrettyWriter.Level[levelCount];
        var json = new RapidJsonPrettyWriter(writer, levels);

        // Keys are written once per row item, so encode every alias once up front into one pooled buffer.
        var aliasBytes = ArrayPool<byte>.Shared.Rent(Math.Max(aliasBytesLength, 1));
        var aliasOffsets = ArrayPool<int>.Shared.Rent(tensors.Count + 1);
        try
        {
            aliasOffsets[0] = 0;
            for (var i = 0; i < tensors.Count; i++)
            {
                aliasOffsets[i + 1] = aliasOffsets[i] + Encoding.UTF8.GetBytes(aliases[i], aliasBytes.AsSpan(aliasOffsets[i]));
            }
            var keys = new AliasKeys(aliasBytes, aliasOffsets);
            if (format == PredictRequestFormat.Row)
            {
                WriteRows(ref json, aliases, tensors, keys, batchSize);
            }
            else
            {
                WriteColumns(ref json, aliases, tensors, keys);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(aliasOffsets);
            ArrayPool<byte>.Shared.Return(aliasBytes);
        }
    }

    /// <summary>True for the dtypes <c>AddSingleValueAndAdvance</c> can write.</summary>
    public static bool IsWritable(DataType dtype) => dtype is DataType.Float or DataType.Double or DataType.Int32
        or DataType.Int16 or DataType.Int8 or DataType.UInt8 or DataType.String or DataType.Int64 or DataType.Bool
        or DataType.UInt32 or DataType.UInt64;

    /// <summary>All of TF's checks, in its order; returns the row batch size (0 for columnar).</summary>
    private static long Validate(PredictRequestFormat format, IReadOnlyList<string> aliases, IReadOnlyList<Tensor> tensors)
    {
        if (tensors.Count == 0)
        {
            throw ServingException.InvalidArgument("Cannot convert empty tensor map to JSON");
        }
        long batchSize = -1;
        if (format == PredictRequestFormat.Row)
        {
            for (var i = 0; i < tensors.Count; i++)
            {
                var tensor = tensors[i];
                if (tensor.Rank == 0)
                {
                    throw ServingException.InvalidArgument($"Tensor name: {aliases[i]} has no shape information ");
                }
                var current = tensor.Shape[0];
                if (batchSize >= 0 && batchSize != current)
                {
                    throw ServingException.InvalidArgument(
                        $"Tensor name: {aliases[i]} has inconsistent batch size: {current} expecting: {batchSize}");
                }
                batchSize = current;
            }
        }
        // TF fails on the first value it cannot write, so an unwritable dtype only matters when the tensor has values;
        // outputs are written in order, so the first such tensor names the dtype.
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            if (tensor.ElementCount > 0 && !IsWritable(tensor.DType))
            {
                throw ServingException.InvalidArgument(
                    $"Failed to write JSON value for tensor type: {DataTypes.Name(tensor.DType)}");
            }
        }
        return Math.Max(batchSize, 0);
    }

    private static void WriteRows(ref RapidJsonPrettyWriter json, IReadOnlyList<string> aliases,
        IReadOnlyList<Tensor> tensors, AliasKeys keys, long batchSize)
    {
        var count = tensors.Count;
        var offsets = count <= StackLevels ? stackalloc int[StackLevels] : new int[count];
        offsets[..count].Clear();
        var objects = count > 1;

        json.StartObject();
        json.Key("predictions"u8);
        json.StartArray();
        for (long item = 0; item < batchSize; item++)
        {
            if (objects)
            {
                json.StartObject();
            }
            // TF switches to single-line arrays after opening the item object, so only the item's own content is inline.
            json.SingleLineArrays = true;
            for (var i = 0; i < count; i++)
            {
                if (objects)
                {
                    json.Key(keys[i]);
                }
                var tensor = tensors[i];
                WriteValues(ref json, tensor, IsBytes(aliases[i], tensor), dim: 1, ref offsets[i]);
            }
            json.SingleLineArrays = false;
            if (objects)
            {
                json.EndObject();
            }
        }
        json.EndArray();
        json.EndObject();
    }

    private static void WriteColumns(ref RapidJsonPrettyWriter json, IReadOnlyList<string> aliases,
        IReadOnlyList<Tensor> tensors, AliasKeys keys)
    {
        var objects = tensors.Count > 1;
        json.StartObject();
        json.Key("outputs"u8);
        if (objects)
        {
            json.StartObject();
        }
        for (var i = 0; i < tensors.Count; i++)
        {
            if (objects)
            {
                json.Key(keys[i]);
            }
            var tensor = tensors[i];
            var offset = 0;
            WriteValues(ref json, tensor, IsBytes(aliases[i], tensor), dim: 0, ref offset);
        }
        if (objects)
        {
            json.EndObject();
        }
        json.EndObject();
    }

    /// <summary>TF's <c>AddTensorValues</c>: dims from <paramref name="dim"/> on as nested arrays, or a bare scalar.</summary>
    private static void WriteValues(ref RapidJsonPrettyWriter json, Tensor tensor, bool asBytes, int dim, ref int offset)
    {
        var rank = tensor.Rank;
        if (dim > rank - 1)
        {
            WriteRun(ref json, tensor, asBytes, offset, 1);
            offset++;
            return;
        }
        json.StartArray();
        var size = tensor.Shape[dim];
        if (dim == rank - 1)
        {
            WriteRun(ref json, tensor, asBytes, offset, (int)size);
            offset += (int)size;
        }
        else
        {
            for (long i = 0; i < size; i++)
            {
                WriteValues(ref json, tensor, asBytes, dim + 1, ref offset);
            }
        }
        json.EndArray();
    }

    /// <summary>Writes <paramref name="count"/> consecutive elements starting at <paramref name="start"/>.</summary>
    private static void WriteRun(ref RapidJsonPrettyWriter json, Tensor tensor, bool asBytes, int start, int count)
    {
        if (count == 0)
        {
            return;
        }
        var end = start + count;
        switch (tensor.DType)
        {
            case DataType.Float:
                foreach (var v in tensor.AsSpan<float>()[start..end])
                {
                    json.Float(v);
                }
                break;
            case DataType.Double:
                foreach (var v in tensor.AsSpan<double>()[start..end])
                {
                    json.Double(v);
                }
                break;
            case DataType.Int32:
                foreach (var v in tensor.AsSpan<int>()[start..end])
                {
                    json.Int64(v);
                }
                break;
            case DataType.Int16:
                foreach (var v in tensor.AsSpan<short>()[start..end])
                {
                    json.Int64(v);
                }
                break;
            case DataType.Int8:
                foreach (var v in tensor.AsSpan<sbyte>()[start..end])
                {
                    json.Int64(v);
                }
                break;
            case DataType.UInt8:
                foreach (var v in tensor.Bytes[start..end])
                {
                    json.Int64(v);
                }
                break;
            case DataType.Int64:
                foreach (var v in tensor.AsSpan<long>()[start..end])
                {
                    json.Int64(v);
                }
                break;
            case DataType.UInt32:
                foreach (var v in tensor.AsSpan<uint>()[start..end])
                {
                    json.UInt64(v);
                }
                break;
            case DataType.UInt64:
                foreach (var v in tensor.AsSpan<ulong>()[start..end])
                {
                    json.UInt64(v);
                }
                break;
            case DataType.Bool:
                foreach (var v in tensor.Bytes[start..end])
                {
                    json.Bool(v != 0);
                }
                break;
            case DataType.String:
                for (var i = start; i < end; i++)
                {
                    if (asBytes)
                    {
                        json.StartObject();
                        json.Key("b64"u8);
                        json.Base64String(tensor.GetString(i));
                        json.EndObject();
                    }
                    else
                    {
                        json.String(tensor.GetString(i));
                    }
                }
                break;
            default:
                // Validate rejects these before any byte is written.
                throw new InvalidOperationException($"Unwritable dtype {tensor.DType} reached the writer.");
        }
    }

    /// <summary>TF writes DT_STRING outputs whose alias ends with <c>_bytes</c> as <c>{"b64": ...}</c>.</summary>
    private static bool IsBytes(string alias, Tensor tensor) =>
        tensor.DType == DataType.String && alias.EndsWith("_bytes", StringComparison.Ordinal);

    /// <summary>UTF-8 aliases packed back to back in one pooled buffer.</summary>
    private readonly struct AliasKeys(byte[] bytes, int[] offsets)
    {
        public ReadOnlySpan<byte> this[int index] => bytes.AsSpan(offsets[index], offsets[index + 1] - offsets[index]);
    }
}
