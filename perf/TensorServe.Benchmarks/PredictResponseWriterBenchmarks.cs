using System.Text.Json;
using BenchmarkDotNet.Attributes;
using TensorServe.Rest;
using TensorServe.Tensors;

namespace TensorServe.Benchmarks;

/// <summary>
/// REST predict response encoding: TensorServe's RapidJSON-compatible writer (TF Serving's exact bytes) against a
/// System.Text.Json <see cref="Utf8JsonWriter"/> writing the same numbers in the same nesting, both into a reused
/// pooled buffer as the REST handler does.
/// </summary>
[MemoryDiagnoser]
public class PredictResponseWriterBenchmarks
{
    private const string Alias = "probabilities";

    private static readonly JsonEncodedText PredictionsKey = JsonEncodedText.Encode("predictions");

    private readonly PooledBufferWriter _buffer = new(64 * 1024);
    private Tensor _tensor = null!;
    private string[] _aliases = null!;
    private Tensor[] _tensors = null!;
    private Utf8JsonWriter _json = null!;

    /// <summary>[64,10]: a batch of classifier outputs. [1,32,32,3]: one image-sized output (deep nesting, 3072 floats).</summary>
    [Params("64x10", "1x32x32x3")]
    public string Shape { get; set; } = "64x10";

    [GlobalSetup]
    public void Setup()
    {
        var shape = Array.ConvertAll(Shape.Split('x'), long.Parse);
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        var random = new Random(42);
        for (var i = 0; i < values.Length; i++)
        {
            // Softmax-like magnitudes with full-precision mantissas: the expensive case for shortest round-trip text.
            values[i] = (float)random.NextDouble();
        }
        _tensor = Tensor.FromValues<float>(DataType.Float, shape, values);
        _aliases = [Alias];
        _tensors = [_tensor];
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Indented = true, SkipValidation = true });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _json.Dispose();
        _tensor.Dispose();
        _buffer.Dispose();
    }

    [Benchmark]
    public int TensorServeWriter()
    {
        _buffer.Clear();
        PredictResponseWriter.Write(_buffer, PredictRequestFormat.Row, _aliases, _tensors);
        return _buffer.WrittenCount;
    }

    [Benchmark(Baseline = true)]
    public int SystemTextJson()
    {
        _buffer.Clear();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteStartArray(PredictionsKey);
        var values = _tensor.AsSpan<float>();
        var shape = _tensor.Shape;
        var offset = 0;
        for (long item = 0; item < shape[0]; item++)
        {
            WriteNested(values, shape, 1, ref offset);
        }
        _json.WriteEndArray();
        _json.WriteEndObject();
        _json.Flush();
        return _buffer.WrittenCount;
    }

    private void WriteNested(ReadOnlySpan<float> values, long[] shape, int dim, ref int offset)
    {
        _json.WriteStartArray();
        if (dim == shape.Length - 1)
        {
            foreach (var v in values.Slice(offset, (int)shape[dim]))
            {
                _json.WriteNumberValue(v);
            }
            offset += (int)shape[dim];
        }
        else
        {
            for (long i = 0; i < shape[dim]; i++)
            {
                WriteNested(values, shape, dim + 1, ref offset);
            }
        }
        _json.WriteEndArray();
    }
}
