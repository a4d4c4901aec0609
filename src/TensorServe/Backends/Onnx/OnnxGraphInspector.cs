using Google.Protobuf;

namespace TensorServe.Backends.Onnx;

/// <summary>A graph input or output as declared in the model file.</summary>
/// <param name="ElementType">ONNX <c>TensorProto.DataType</c> number; 0 when not a tensor.</param>
/// <param name="HasShape">False for a tensor declared without any shape (unknown rank).</param>
internal readonly record struct OnnxGraphValue(bool IsInput, string Name, bool IsTensor, int ElementType, bool HasShape);

/// <summary>
/// Reads what ONNX Runtime's managed metadata API cannot tell: which graph inputs and outputs declare a tensor type with
/// no shape at all (unknown rank; ORT reports zero dims, exactly like a scalar, yet a model such as half_plus_two accepts
/// any rank), and the raw element type numbers (ORT's managed API fails outright on types it has no enum value for,
/// such as float8). Only the graph's input/output <c>ValueInfoProto</c>s are decoded; everything else (nodes and
/// initializers, most of the file) is skipped by seeking, so this stays cheap for large models.
/// </summary>
internal static class OnnxGraphInspector
{
    // Field numbers from onnx.proto.
    private const int ModelGraphField = 7;
    private const int GraphInputField = 11;
    private const int GraphOutputField = 12;
    private const int ValueInfoNameField = 1;
    private const int ValueInfoTypeField = 2;
    private const int TypeTensorField = 1;
    private const int TensorElemTypeField = 1;
    private const int TensorShapeField = 2;

    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    /// <summary>A ValueInfoProto is a name and a type: far smaller than this unless the file is not what it claims.</summary>
    private const long MaxValueInfoBytes = 16 << 20;

    /// <summary>
    /// The graph's declared inputs and outputs, in file order. Returns an empty list when the file cannot be read as a
    /// model (callers only use this as a hint next to what ORT reports).
    /// </summary>
    public static List<OnnxGraphValue> ReadGraphValues(string modelPath)
    {
        var values = new List<OnnxGraphValue>();
        try
        {
            using var stream = new FileStream(modelPath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024,
                FileOptions.RandomAccess);
            ScanMessage(stream, stream.Length, depth: 0, values);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidProtocolBufferException or
                                      InvalidDataException)
        {
            values.Clear();
        }
        return values;
    }

    /// <summary>Names of graph inputs and outputs declared as tensors without a shape (unknown rank).</summary>
    public static HashSet<string> UnknownRankNames(List<OnnxGraphValue> values)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            if (value.IsTensor && !value.HasShape)
            {
                names.Add(value.Name);
            }
        }
        return names;
    }

    /// <summary>Scans ModelProto (depth 0) or GraphProto (depth 1) fields up to <paramref name="end"/>.</summary>
    private static void ScanMessage(Stream stream, long end, int depth, List<OnnxGraphValue> values)
    {
        while (stream.Position < end)
        {
            var tag = ReadVarint(stream);
            var field = (int)(tag >> 3);
            var wire = (int)(tag & 7);
            switch (wire)
            {
                case WireVarint:
                    ReadVarint(stream);
                    break;
                case WireFixed64:
                    Skip(stream, 8, end);
                    break;
                case WireFixed32:
                    Skip(stream, 4, end);
                    break;
                case WireLengthDelimited:
                    var length = (long)ReadVarint(stream);
                    if (length < 0 || stream.Position + length > end)
                    {
                        throw new InvalidDataException("Length-delimited field runs past its message.");
                    }
                    if (depth == 0 && field == ModelGraphField)
                    {
                        ScanMessage(stream, stream.Position + length, depth + 1, values);
                    }
                    else if (depth == 1 && field is GraphInputField or GraphOutputField && length <= MaxValueInfoBytes)
                    {
                        var bytes = new byte[length];
                        stream.ReadExactly(bytes);
                        values.Add(ReadValueInfo(bytes, isInput: field == GraphInputField));
                    }
                    else
                    {
                        Skip(stream, length, end);
                    }
                    break;
                default:
                    throw new InvalidDataException($"Unsupported wire type {wire}.");
            }
        }
    }

    private static OnnxGraphValue ReadValueInfo(byte[] bytes, bool isInput)
    {
        var input = new CodedInputStream(bytes);
        var name = "";
        var (isTensor, elementType, hasShape) = (false, 0, false);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case ValueInfoNameField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                    name = input.ReadString();
                    break;
                case ValueInfoTypeField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                    (isTensor, elementType, hasShape) = ReadType(input.ReadBytes());
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return new OnnxGraphValue(isInput, name, isTensor, elementType, hasShape);
    }

    private static (bool IsTensor, int ElementType, bool HasShape) ReadType(ByteString typeProto)
    {
        var input = typeProto.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == TypeTensorField &&
                WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                var tensor = input.ReadBytes().CreateCodedInput();
                var (elementType, hasShape) = (0, false);
                uint tensorTag;
                while ((tensorTag = tensor.ReadTag()) != 0)
                {
                    switch (WireFormat.GetTagFieldNumber(tensorTag))
                    {
                        case TensorElemTypeField when WireFormat.GetTagWireType(tensorTag) == WireFormat.WireType.Varint:
                            elementType = tensor.ReadInt32();
                            break;
                        case TensorShapeField:
                            hasShape = true;
                            tensor.SkipLastField();
                            break;
                        default:
                            tensor.SkipLastField();
                            break;
                    }
                }
                return (true, elementType, hasShape);
            }
            input.SkipLastField();
        }
        return (false, 0, false);
    }

    private static ulong ReadVarint(Stream stream)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = stream.ReadByte();
            if (b < 0)
            {
                throw new EndOfStreamException();
            }
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
        throw new InvalidDataException("Malformed varint.");
    }

    private static void Skip(Stream stream, long count, long end)
    {
        if (stream.Position + count > end)
        {
            throw new InvalidDataException("Field runs past its message.");
        }
        stream.Seek(count, SeekOrigin.Current);
    }
}
