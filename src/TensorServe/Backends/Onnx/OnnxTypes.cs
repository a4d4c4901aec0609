using Microsoft.ML.OnnxRuntime.Tensors;
using TensorServe.Tensors;

namespace TensorServe.Backends.Onnx;

/// <summary>ONNX element types and TF dtypes; both have the same host layouts for every type mapped here.</summary>
internal static class OnnxTypes
{
    /// <summary>The TF dtype for an ORT element type, or <see cref="DataType.Invalid"/> when TF has no equivalent here.</summary>
    public static DataType ToDataType(TensorElementType elementType) => elementType switch
    {
        TensorElementType.Float => DataType.Float,
        TensorElementType.Double => DataType.Double,
        TensorElementType.Int8 => DataType.Int8,
        TensorElementType.Int16 => DataType.Int16,
        TensorElementType.Int32 => DataType.Int32,
        TensorElementType.Int64 => DataType.Int64,
        TensorElementType.UInt8 => DataType.UInt8,
        TensorElementType.UInt16 => DataType.UInt16,
        TensorElementType.UInt32 => DataType.UInt32,
        TensorElementType.UInt64 => DataType.UInt64,
        TensorElementType.Bool => DataType.Bool,
        TensorElementType.String => DataType.String,
        TensorElementType.Float16 => DataType.Half,
        TensorElementType.BFloat16 => DataType.BFloat16,
        _ => DataType.Invalid,
    };

    /// <summary>True for the ONNX element types (<c>TensorProto.DataType</c> numbers) that <see cref="ToDataType"/> maps.</summary>
    public static bool IsSupported(int onnxType) =>
        Enum.IsDefined((TensorElementType)onnxType) && ToDataType((TensorElementType)onnxType) != DataType.Invalid;

    /// <summary>ONNX's lower-case name of an element type (<c>TensorProto.DataType</c> number), for error messages.</summary>
    public static string OnnxName(int onnxType) => onnxType switch
    {
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        17 => "float8e4m3fn",
        18 => "float8e4m3fnuz",
        19 => "float8e5m2",
        20 => "float8e5m2fnuz",
        21 => "uint4",
        22 => "int4",
        23 => "float4e2m1",
        _ => "type " + onnxType.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
