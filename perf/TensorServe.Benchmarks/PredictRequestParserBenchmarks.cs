using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using TensorServe.Models;
using TensorServe.Rest;
using TensorServe.Tensors;

namespace TensorServe.Benchmarks;

/// <summary>
/// REST predict request decoding: TensorServe's RapidJSON-compatible pull parser, which writes floats straight into a
/// pooled tensor buffer, against a System.Text.Json <see cref="JsonDocument"/> DOM walked into a float array (what a
/// straightforward implementation would do). Bodies are CIFAR-10 row requests of 1 and 32 images.
/// </summary>
[MemoryDiagnoser]
public class PredictRequestParserBenchmarks
{
    private readonly List<KeyValuePair<string, Tensor>> _inputs = new(1);
    private byte[] _body = [];
    private SignatureDef _signature = null!;
    private float[] _scratch = [];

    [Params(1, 32)]
    public int Images { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var json = new StringBuilder("{\"signature_name\": \"serving_default\", \"instances\": [");
        for (var n = 0; n < Images; n++)
        {
            json.Append(n == 0 ? "[" : ", [");
            for (var h = 0; h < 32; h++)
            {
                json.Append(h == 0 ? "[" : ", [");
                for (var w = 0; w < 32; w++)
                {
                    json.Append(w == 0 ? "[" : ", [");
                    for (var c = 0; c < 3; c++)
                    {
                        // What numpy's tolist() of float32 pixels in [0, 1) prints: up to 17 significant digits.
                        json.Append(c == 0 ? "" : ", ")
                            .Append(((double)(float)random.NextDouble()).ToString("R", CultureInfo.InvariantCulture));
                    }
                    json.Append(']');
                }
                json.Append(']');
            }
            json.Append(']');
        }
        json.Append("]}");
        _body = Encoding.UTF8.GetBytes(json.ToString());
        _signature = new SignatureDef(SignatureConstants.PredictMethodName,
            [new("images", new TensorInfo("images", DataType.Float, [-1, 32, 32, 3]))],
            [new("probabilities", new TensorInfo("probabilities", DataType.Float, [-1, 10]))]);
        _scratch = new float[Images * 32 * 32 * 3];
    }

    [Benchmark]
    public long TensorServeParser()
    {
        var envelope = PredictRequestParser.ParseEnvelope(_body);
        PredictRequestParser.ParseInputs(_body, envelope, _signature, envelope.SignatureName, _inputs);
        var tensor = _inputs[0].Value;
        var count = tensor.ElementCount;
        tensor.Dispose();
        _inputs.Clear();
        return count;
    }

    [Benchmark(Baseline = true)]
    public long JsonDocumentDom()
    {
        using var document = JsonDocument.Parse(_body);
        var count = 0;
        foreach (var image in document.RootElement.GetProperty("instances").EnumerateArray())
        {
            foreach (var row in image.EnumerateArray())
            {
                foreach (var pixel in row.EnumerateArray())
                {
                    foreach (var channel in pixel.EnumerateArray())
                    {
                        _scratch[count++] = channel.GetSingle();
                    }
                }
            }
        }
        return count;
    }
}
