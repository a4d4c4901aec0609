namespace TensorServe.Tensors;

/// <summary>Element types, numbered exactly as <c>tensorflow.DataType</c> (types.proto) so protos convert by cast.</summary>
public enum DataType
{
    Invalid = 0,
    Float = 1,
    Double = 2,
    Int32 = 3,
    UInt8 = 4,
    Int16 = 5,
    Int8 = 6,
    String = 7,
    Complex64 = 8,
    Int64 = 9,
    Bool = 10,
    QInt8 = 11,
    QUInt8 = 12,
    QInt32 = 13,
    BFloat16 = 14,
    QInt16 = 15,
    QUInt16 = 16,
    UInt16 = 17,
    Complex128 = 18,
    Half = 19,
    Resource = 20,
    Variant = 21,
    UInt32 = 22,
    UInt64 = 23,
}

public static class DataTypes
{
    /// <summary>Bytes per element of a dense numeric tensor; 0 for string and types without a fixed host layout.</summary>
    public static int ElementSize(DataType dtype) => dtype switch
    {
        DataType.Float or DataType.Int32 or DataType.UInt32 or DataType.QInt32 => 4,
        DataType.Double or DataType.Int64 or DataType.UInt64 or DataType.Complex64 => 8,
        DataType.Complex128 => 16,
        DataType.UInt8 or DataType.Int8 or DataType.Bool or DataType.QInt8 or DataType.QUInt8 => 1,
        DataType.Int16 or DataType.UInt16 or DataType.Half or DataType.BFloat16 or DataType.QInt16 or DataType.QUInt16 => 2,
        _ => 0,
    };

    public static bool IsValid(DataType dtype) => dtype is > DataType.Invalid and <= DataType.UInt64;

    /// <summary>TF's <c>DataTypeString</c> (<c>float</c>, <c>int32</c>, ...), used in client-visible messages.</summary>
    public static string Name(DataType dtype) => dtype switch
    {
        DataType.Float => "float",
        DataType.Double => "double",
        DataType.Int32 => "int32",
        DataType.UInt8 => "uint8",
        DataType.Int16 => "int16",
        DataType.Int8 => "int8",
        DataType.String => "string",
        DataType.Complex64 => "complex64",
        DataType.Int64 => "int64",
        DataType.Bool => "bool",
        DataType.QInt8 => "qint8",
        DataType.QUInt8 => "quint8",
        DataType.QInt32 => "qint32",
        DataType.BFloat16 => "bfloat16",
        DataType.QInt16 => "qint16",
        DataType.QUInt16 => "quint16",
        DataType.UInt16 => "uint16",
        DataType.Complex128 => "complex128",
        DataType.Half => "half",
        DataType.Resource => "resource",
        DataType.Variant => "variant",
        DataType.UInt32 => "uint32",
        DataType.UInt64 => "uint64",
        _ => "unknown dtype enum (" + (int)dtype + ")",
    };

    /// <summary>The proto enum name (<c>DT_FLOAT</c>), as printed in metadata JSON.</summary>
    public static string EnumName(DataType dtype) => dtype switch
    {
        DataType.Invalid => "DT_INVALID",
        DataType.Float => "DT_FLOAT",
        DataType.Double => "DT_DOUBLE",
        DataType.Int32 => "DT_INT32",
        DataType.UInt8 => "DT_UINT8",
        DataType.Int16 => "DT_INT16",
        DataType.Int8 => "DT_INT8",
        DataType.String => "DT_STRING",
        DataType.Complex64 => "DT_COMPLEX64",
        DataType.Int64 => "DT_INT64",
        DataType.Bool => "DT_BOOL",
        DataType.QInt8 => "DT_QINT8",
        DataType.QUInt8 => "DT_QUINT8",
        DataType.QInt32 => "DT_QINT32",
        DataType.BFloat16 => "DT_BFLOAT16",
        DataType.QInt16 => "DT_QINT16",
        DataType.QUInt16 => "DT_QUINT16",
        DataType.UInt16 => "DT_UINT16",
        DataType.Complex128 => "DT_COMPLEX128",
        DataType.Half => "DT_HALF",
        DataType.Resource => "DT_RESOURCE",
        DataType.Variant => "DT_VARIANT",
        DataType.UInt32 => "DT_UINT32",
        DataType.UInt64 => "DT_UINT64",
        _ => ((int)dtype).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
