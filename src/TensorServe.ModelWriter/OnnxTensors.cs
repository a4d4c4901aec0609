using System.Runtime.InteropServices;
using Google.Protobuf;
using TensorServe.ModelWriter.Onnx;

namespace TensorServe.ModelWriter;

/// <summary>
/// Builds <see cref="TensorProto"/> values (initializers, attribute tensors, test vectors). Numeric data goes to
/// <c>raw_data</c> as little-endian bytes, as exporters write it; strings go to <c>string_data</c>, the only place ONNX
/// allows them.
/// </summary>
public static class OnnxTensors
{
    public static TensorProto Float(string name, long[] dims, ReadOnlySpan<float> values) =>
        Raw(name, TensorProto.Types.DataType.Float, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Int64(string name, long[] dims, ReadOnlySpan<long> values) =>
        Raw(name, TensorProto.Types.DataType.Int64, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Int32(string name, long[] dims, ReadOnlySpan<int> values) =>
        Raw(name, TensorProto.Types.DataType.Int32, dims, MemoryMarshal.AsBytes(values));

    /// <summary>Any fixed-size type from its little-endian element bytes (bool: one byte per element).</summary>
    public static TensorProto Raw(string name, TensorProto.Types.DataType dataType, long[] dims, ReadOnlySpan<byte> bytes)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian; this writer assumes a little-endian host.");
        }
        var tensor = new TensorProto { Name = name, DataType = (int)dataType, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    public static TensorProto Strings(string name, long[] dims, IEnumerable<string> values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.String };
        tensor.Dims.AddRange(dims);
        foreach (var v in values)
        {
            tensor.StringData.Add(ByteString.CopyFromUtf8(v));
        }
        return tensor;
    }
}

/// <summary>Node attributes (<see cref="AttributeProto"/>) with their <c>type</c> discriminator set, as IR 2+ requires.</summary>
public static class OnnxAttributes
{
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Floats(string name, params float[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        attribute.Floats.AddRange(values);
        return attribute;
    }

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Strings(string name, params string[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        foreach (var v in values)
        {
            attribute.Strings.Add(ByteString.CopyFromUtf8(v));
        }
        return attribute;
    }

    public static AttributeProto Tensor(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };
}
