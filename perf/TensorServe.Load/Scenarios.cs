using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Grpc.Core;
using Tensorflow;
using Tensorflow.Serving;

namespace TensorServe.Load;

/// <summary>
/// One kind of request sent in a closed loop. <see cref="ExecuteAsync"/> returns null for a correct answer, else a short
/// failure reason (grouped and counted in the report); it throws only when <paramref name="cancellationToken"/> fires.
/// </summary>
internal abstract class Scenario(string name, string description)
{
    public string Name { get; } = name;

    public string Description { get; } = description;

    public abstract Task<string?> ExecuteAsync(int worker, CancellationToken cancellationToken);
}

/// <summary>REST predict over one shared <see cref="HttpClient"/> (keep-alive HTTP/1.1 connections, one per worker).</summary>
internal sealed class RestPredictScenario(string name, HttpClient client, Uri url, byte[] body, Func<JsonElement, string?> check)
    : Scenario(name, $"REST POST {url.AbsolutePath} ({body.Length} B body)")
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    public override async Task<string?> ExecuteAsync(int worker, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new ByteArrayContent(body) { Headers = { ContentType = Json } },
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken)
                .ConfigureAwait(false);
            var content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return $"HTTP {(int)response.StatusCode}: {Clip(System.Text.Encoding.UTF8.GetString(content))}";
            }
            using var document = JsonDocument.Parse(content);
            return check(document.RootElement);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "timeout";
        }
        catch (HttpRequestException e)
        {
            return $"HTTP error: {Clip(e.Message)}";
        }
        catch (JsonException e)
        {
            return $"invalid JSON: {Clip(e.Message)}";
        }
    }

    /// <summary>half_plus_two: exactly <c>{"predictions": [2.5, 3.0, 4.5]}</c>.</summary>
    public static string? CheckHalf(JsonElement root)
    {
        if (!root.TryGetProperty("predictions", out var predictions) || predictions.ValueKind != JsonValueKind.Array)
        {
            return "no \"predictions\" array";
        }
        var expected = Payloads.HalfExpected;
        if (predictions.GetArrayLength() != expected.Length)
        {
            return $"expected {expected.Length} predictions, got {predictions.GetArrayLength()}";
        }
        var i = 0;
        foreach (var value in predictions.EnumerateArray())
        {
            if (value.ValueKind != JsonValueKind.Number || value.GetSingle() != expected[i])
            {
                return $"wrong prediction {i}: {value.GetRawText()} (expected {expected[i]})";
            }
            i++;
        }
        return null;
    }

    /// <summary>cifar10: one row of 10 probabilities (a softmax: each in [0,1], summing to 1).</summary>
    public static string? CheckCifar(JsonElement root)
    {
        if (!root.TryGetProperty("predictions", out var predictions) || predictions.ValueKind != JsonValueKind.Array ||
            predictions.GetArrayLength() != 1 || predictions[0].ValueKind != JsonValueKind.Array)
        {
            return "expected \"predictions\": [[...]] with one row";
        }
        var row = predictions[0];
        if (row.GetArrayLength() != Payloads.CifarClasses)
        {
            return $"expected {Payloads.CifarClasses} probabilities, got {row.GetArrayLength()}";
        }
        var probabilities = new float[Payloads.CifarClasses];
        var i = 0;
        foreach (var value in row.EnumerateArray())
        {
            if (value.ValueKind != JsonValueKind.Number)
            {
                return "non-numeric probability";
            }
            probabilities[i++] = value.GetSingle();
        }
        return CheckProbabilities(probabilities);
    }

    public static string? CheckProbabilities(ReadOnlySpan<float> probabilities)
    {
        var sum = 0.0;
        foreach (var p in probabilities)
        {
            if (!(p >= 0f && p <= 1f))
            {
                return $"probability {p} outside [0,1]";
            }
            sum += p;
        }
        return Math.Abs(sum - 1.0) < 1e-4 ? null : $"probabilities sum to {sum}, not 1";
    }

    /// <summary>One line, at most 160 characters: error bodies are pretty-printed JSON, and reasons are grouped by text.</summary>
    internal static string Clip(string text)
    {
        var line = string.Join(' ', text.Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= 160 ? line : line[..160] + "...";
    }
}

/// <summary>gRPC Predict through the generated client, workers spread over a few channels (HTTP/2 connections).</summary>
internal sealed class GrpcPredictScenario(string name, PredictionService.PredictionServiceClient[] clients,
    PredictRequest request, string outputAlias, Func<TensorProto, string?> check)
    : Scenario(name, $"gRPC PredictionService/Predict model={request.ModelSpec.Name} ({request.CalculateSize()} B message)")
{
    private static readonly TimeSpan Deadline = LoadRunner.RequestTimeout;

    public override async Task<string?> ExecuteAsync(int worker, CancellationToken cancellationToken)
    {
        var client = clients[worker % clients.Length];
        try
        {
            var response = await client.PredictAsync(request, deadline: DateTime.UtcNow + Deadline,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.Outputs.TryGetValue(outputAlias, out var tensor)
                ? check(tensor)
                : $"no output '{outputAlias}'";
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            return e.StatusCode == StatusCode.DeadlineExceeded
                ? "timeout"
                : $"gRPC {e.StatusCode}: {RestPredictScenario.Clip(e.Status.Detail)}";
        }
    }

    /// <summary>half_plus_two: y = [2.5, 3.0, 4.5] as float_val or tensor_content.</summary>
    public static string? CheckHalf(TensorProto tensor)
    {
        var error = Floats(tensor, Payloads.HalfExpected.Length, out var values);
        if (error is not null)
        {
            return error;
        }
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] != Payloads.HalfExpected[i])
            {
                return $"wrong prediction {i}: {values[i]} (expected {Payloads.HalfExpected[i]})";
            }
        }
        return null;
    }

    /// <summary>cifar10: probabilities of shape [1,10] summing to 1.</summary>
    public static string? CheckCifar(TensorProto tensor)
    {
        var dims = tensor.TensorShape?.Dim;
        if (dims is null || dims.Count != 2 || dims[0].Size != 1 || dims[1].Size != Payloads.CifarClasses)
        {
            return "expected probabilities of shape [1,10]";
        }
        return Floats(tensor, Payloads.CifarClasses, out var values) ?? RestPredictScenario.CheckProbabilities(values);
    }

    private static string? Floats(TensorProto tensor, int count, out float[] values)
    {
        values = [];
        if (tensor.Dtype != Tensorflow.DataType.DtFloat)
        {
            return $"expected DT_FLOAT output, got {tensor.Dtype}";
        }
        if (!tensor.TensorContent.IsEmpty)
        {
            if (tensor.TensorContent.Length != count * sizeof(float))
            {
                return $"tensor_content has {tensor.TensorContent.Length} bytes, expected {count * sizeof(float)}";
            }
            values = MemoryMarshal.Cast<byte, float>(tensor.TensorContent.Span).ToArray();
            return null;
        }
        if (tensor.FloatVal.Count != count)
        {
            return $"expected {count} float_val, got {tensor.FloatVal.Count}";
        }
        values = [.. tensor.FloatVal];
        return null;
    }
}
