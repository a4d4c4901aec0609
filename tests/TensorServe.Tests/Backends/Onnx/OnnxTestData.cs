using System.Runtime.InteropServices;
using TensorServe.Backends.Onnx;
using TensorServe.ModelWriter;
using TensorServe.ModelWriter.Onnx;
using TensorServe.Models;
using TensorServe.Tensors;

namespace TensorServe.Tests.Backends.Onnx;

/// <summary>Test helpers: ONNX TensorProto test vectors as tensors, temporary model folders, servable runs.</summary>
internal static class OnnxTestData
{
    public static DataType ToDataType(int onnxType) => (TensorProto.Types.DataType)onnxType switch
    {
        TensorProto.Types.DataType.Float => DataType.Float,
        TensorProto.Types.DataType.Double => DataType.Double,
        TensorProto.Types.DataType.Int8 => DataType.Int8,
        TensorProto.Types.DataType.Int16 => DataType.Int16,
        TensorProto.Types.DataType.Int32 => DataType.Int32,
        TensorProto.Types.DataType.Int64 => DataType.Int64,
        TensorProto.Types.DataType.Uint8 => DataType.UInt8,
        TensorProto.Types.DataType.Uint16 => DataType.UInt16,
        TensorProto.Types.DataType.Uint32 => DataType.UInt32,
        TensorProto.Types.DataType.Uint64 => DataType.UInt64,
        TensorProto.Types.DataType.Bool => DataType.Bool,
        TensorProto.Types.DataType.String => DataType.String,
        TensorProto.Types.DataType.Float16 => DataType.Half,
        TensorProto.Types.DataType.Bfloat16 => DataType.BFloat16,
        var other => throw new NotSupportedException($"ONNX data type {other} in a test vector"),
    };

    public static TensorProto ReadTensorProto(string path) => TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));

    /// <summary>A TensorProto (raw_data or the typed field for its type) as a host tensor.</summary>
    public static Tensor ToTensor(TensorProto proto)
    {
        var dtype = ToDataType(proto.DataType);
        var shape = proto.Dims.ToArray();
        if (dtype == DataType.String)
        {
            return Tensor.FromStrings(shape, proto.StringData.Select(s => s.ToByteArray()).ToArray());
        }
        var tensor = Tensor.Allocate(dtype, shape);
        var bytes = tensor.Bytes;
        if (!proto.RawData.IsEmpty)
        {
            Assert.Equal(bytes.Length, proto.RawData.Length);
            proto.RawData.Span.CopyTo(bytes);
            return tensor;
        }
        switch (dtype)
        {
            case DataType.Float:
                proto.FloatData.ToArray().AsSpan().CopyTo(tensor.AsSpan<float>());
                break;
            case DataType.Double:
                proto.DoubleData.ToArray().AsSpan().CopyTo(tensor.AsSpan<double>());
                break;
            case DataType.Int64:
                proto.Int64Data.ToArray().AsSpan().CopyTo(tensor.AsSpan<long>());
                break;
            case DataType.UInt64:
                proto.Uint64Data.ToArray().AsSpan().CopyTo(tensor.AsSpan<ulong>());
                break;
            case DataType.UInt32:
                for (var i = 0; i < proto.Uint64Data.Count; i++)
                {
                    tensor.AsSpan<uint>()[i] = (uint)proto.Uint64Data[i];
                }
                break;
            case DataType.Int32:
                proto.Int32Data.ToArray().AsSpan().CopyTo(tensor.AsSpan<int>());
                break;
            case DataType.Int16 or DataType.UInt16 or DataType.Half or DataType.BFloat16:
                for (var i = 0; i < proto.Int32Data.Count; i++)
                {
                    tensor.AsSpan<ushort>()[i] = (ushort)proto.Int32Data[i];
                }
                break;
            case DataType.Int8 or DataType.UInt8 or DataType.Bool:
                for (var i = 0; i < proto.Int32Data.Count; i++)
                {
                    bytes[i] = (byte)proto.Int32Data[i];
                }
                break;
        }
        return tensor;
    }

    /// <summary>Asserts dtype, shape and values: floats within a relative tolerance, everything else exact.</summary>
    public static void AssertTensorEqual(Tensor expected, Tensor actual, double relativeTolerance = 1e-4, string what = "")
    {
        Assert.True(expected.DType == actual.DType, $"{what}: dtype {actual.DType}, expected {expected.DType}");
        Assert.True(expected.Shape.AsSpan().SequenceEqual(actual.Shape),
            $"{what}: shape {TensorShape.ToDebugString(actual.Shape)}, expected {TensorShape.ToDebugString(expected.Shape)}");
        switch (expected.DType)
        {
            case DataType.String:
                for (var i = 0; i < expected.ElementCount; i++)
                {
                    Assert.True(expected.GetString(i).SequenceEqual(actual.GetString(i)), $"{what}: string element {i} differs");
                }
                break;
            case DataType.Float:
                AssertClose(expected.AsSpan<float>(), actual.AsSpan<float>(), relativeTolerance, what);
                break;
            case DataType.Double:
                AssertClose(expected.AsSpan<double>(), actual.AsSpan<double>(), relativeTolerance, what);
                break;
            default:
                Assert.True(expected.Bytes.SequenceEqual(actual.Bytes), $"{what}: element bytes differ");
                break;
        }
    }

    private static void AssertClose<T>(Span<T> expected, Span<T> actual, double relativeTolerance, string what)
        where T : unmanaged, IConvertible
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var e = expected[i].ToDouble(null);
            var a = actual[i].ToDouble(null);
            Assert.True(Math.Abs(e - a) <= relativeTolerance * Math.Max(1.0, Math.Abs(e)),
                $"{what}: element {i} is {a}, expected {e}");
        }
    }

    /// <summary>Runs every output of the servable's default signature.</summary>
    public static Tensor[] RunAll(IServable servable, params Tensor[] inputs)
    {
        var signature = servable.Signatures[SignatureConstants.DefaultServingKey];
        var all = Enumerable.Range(0, signature.Outputs.Count).ToArray();
        return servable.Run(signature, inputs, all, CancellationToken.None);
    }

    public static void DisposeAll(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors)
        {
            t.Dispose();
        }
    }

    public static Tensor Floats(long[] shape, params float[] values) => Tensor.FromValues<float>(DataType.Float, shape, values);
}

/// <summary>A temporary model base path (<c>base/1/model.onnx</c>), deleted on dispose.</summary>
internal sealed class TempModel : IDisposable
{
    public TempModel(byte[] model)
    {
        BasePath = Path.Combine(Path.GetTempPath(), "tensorserve-onnx-" + Guid.NewGuid().ToString("N"));
        VersionPath = DemoModels.WriteVersion(BasePath, 1, model);
    }

    public string BasePath { get; }

    public string VersionPath { get; }

    public string ModelPath => Path.Combine(VersionPath, "model.onnx");

    /// <summary>Loads the model with the ONNX loader (default options unless given).</summary>
    public IServable Load(OnnxBackendOptions? options = null) =>
        new OnnxServableLoader(options ?? OnnxBackendOptions.Default).Load(VersionPath, CancellationToken.None);

    public static IServable Load(byte[] model, OnnxBackendOptions? options = null)
    {
        using var temp = new TempModel(model);
        // ORT has read the file once the session exists, so the folder can go right away.
        return temp.Load(options);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(BasePath, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
