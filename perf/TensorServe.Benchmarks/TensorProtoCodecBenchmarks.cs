using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using TensorServe.Grpc;
using TensorServe.Rest;
using TensorServe.Tensors;

namespace TensorServe.Benchmarks;

/// <summary>
/// gRPC tensor conversion for a CIFAR-sized batch ([64,32,32,3] float, 786 KB): decoding a request tensor sent as
/// <c>tensor_content</c> (one memcpy) or as repeated <c>float_val</c> (what most Python clients send via
/// <c>make_tensor_proto</c> for small lists), from the parsed message and from wire bytes; and encoding an output
/// tensor both ways, serialized into a reused pooled buffer as the gRPC response path does.
/// </summary>
[MemoryDiagnoser]
public class TensorProtoCodecBenchmarks
{
    private static readonly long[] Shape = [64, 32, 32, 3];

    private readonly PooledBufferWriter _buffer = new(1024 * 1024);
    private Tensorflow.TensorProto _contentProto = null!;
    private Tensorflow.TensorProto _floatValProto = null!;
    private byte[] _contentWire = null!;
    private byte[] _floatValWire = null!;
    private Tensor _tensor = null!;

    [GlobalSetup]
    public void Setup()
    {
        var values = new float[64 * 32 * 32 * 3];
        var random = new Random(7);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble();
        }
        _tensor = Tensor.FromValues<float>(DataType.Float, Shape, values);
        _contentProto = TensorProtoCodec.ToProto(_tensor, asTensorContent: true);
        _floatValProto = TensorProtoCodec.ToProto(_tensor, asTensorContent: false);
        _contentWire = _contentProto.ToByteArray();
        _floatValWire = _floatValProto.ToByteArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tensor.Dispose();
        _buffer.Dispose();
    }

    [Benchmark]
    public int Decode_TensorContent()
    {
        using var tensor = TensorProtoCodec.FromProto(_contentProto);
        return tensor.ElementCount;
    }

    [Benchmark]
    public int Decode_FloatVal()
    {
        using var tensor = TensorProtoCodec.FromProto(_floatValProto);
        return tensor.ElementCount;
    }

    [Benchmark]
    public int ParseAndDecode_TensorContent()
    {
        using var tensor = TensorProtoCodec.FromProto(Tensorflow.TensorProto.Parser.ParseFrom(_contentWire));
        return tensor.ElementCount;
    }

    [Benchmark]
    public int ParseAndDecode_FloatVal()
    {
        using var tensor = TensorProtoCodec.FromProto(Tensorflow.TensorProto.Parser.ParseFrom(_floatValWire));
        return tensor.ElementCount;
    }

    [Benchmark]
    public int EncodeAndSerialize_TensorContent()
    {
        _buffer.Clear();
        TensorProtoCodec.ToProto(_tensor, asTensorContent: true).WriteTo(_buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public int EncodeAndSerialize_FloatVal()
    {
        _buffer.Clear();
        TensorProtoCodec.ToProto(_tensor, asTensorContent: false).WriteTo(_buffer);
        return _buffer.WrittenCount;
    }
}
