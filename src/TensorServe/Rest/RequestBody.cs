using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;

namespace TensorServe.Rest;

/// <summary>
/// A whole request body as one contiguous span. When Kestrel delivered the complete body in one segment, the span is the
/// pipe's own buffer (no copy) and is released back to the pipe on dispose; otherwise the segments are copied once into a
/// pooled array. TF Serving reads the complete body before parsing (spec §1.1), so this does too.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    // Cap on gunzipped bodies, as TF Serving's ZLib::kMaxUncompressedBytes.
    internal const int MaxUncompressedBytes = 100 * 1024 * 1024;

    private readonly PipeReader? _reader;
    private readonly ReadOnlySequence<byte> _pipeBuffer;
    private byte[]? _pooled;
    private readonly int _length;
    private bool _disposed;

    private RequestBody(PipeReader reader, ReadOnlySequence<byte> buffer)
    {
        _reader = reader;
        _pipeBuffer = buffer;
        _length = (int)buffer.Length;
    }

    private RequestBody(byte[] pooled, int length)
    {
        _pooled = pooled;
        _length = length;
    }

    public ReadOnlySpan<byte> Span => _reader is not null ? _pipeBuffer.FirstSpan : _pooled.AsSpan(0, _length);

    public int Length => _length;

    public static ValueTask<RequestBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var encoding = request.Headers.ContentEncoding.ToString();
        if (encoding.Contains("gzip", StringComparison.Ordinal))
        {
            return ReadGzipAsync(request.Body, cancellationToken);
        }
        return ReadPipeAsync(request.BodyReader, request.ContentLength, cancellationToken);
    }

    private static async ValueTask<RequestBody> ReadPipeAsync(PipeReader reader, long? contentLength,
        CancellationToken cancellationToken)
    {
        var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted && result.Buffer.IsSingleSegment)
        {
            return new RequestBody(reader, result.Buffer);
        }

        // The declared length only sizes the first rent (bounded), so a small request cannot claim a huge buffer.
        var initial = (int)Math.Clamp(contentLength ?? result.Buffer.Length, 4096, 1 << 20);
        var pooled = ArrayPool<byte>.Shared.Rent(Math.Max(initial, (int)Math.Min(result.Buffer.Length, Array.MaxLength)));
        var length = 0;
        try
        {
            while (true)
            {
                foreach (var segment in result.Buffer)
                {
                    pooled = EnsureCapacity(pooled, length, segment.Length);
                    segment.Span.CopyTo(pooled.AsSpan(length));
                    length += segment.Length;
                }
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return new RequestBody(pooled, length);
                }
                result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(pooled);
            throw;
        }
    }

    private static async ValueTask<RequestBody> ReadGzipAsync(Stream body, CancellationToken cancellationToken)
    {
        var pooled = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var length = 0;
        try
        {
            await using var gzip = new GZipStream(body, CompressionMode.Decompress, leaveOpen: true);
            while (true)
            {
                pooled = EnsureCapacity(pooled, length, 16 * 1024);
                var read = await gzip.ReadAsync(pooled.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return new RequestBody(pooled, length);
                }
                length += read;
                if (length > MaxUncompressedBytes)
                {
                    // TF Serving treats a failed or oversized decompression as an empty body.
                    return new RequestBody(pooled, 0);
                }
            }
        }
        catch (InvalidDataException)
        {
            return new RequestBody(pooled, 0);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(pooled);
            throw;
        }
    }

    private static byte[] EnsureCapacity(byte[] pooled, int length, int more)
    {
        if (pooled.Length - length >= more)
        {
            return pooled;
        }
        var size = Math.Max((long)pooled.Length * 2, (long)length + more);
        if (size > Array.MaxLength)
        {
            throw new ServingException(ErrorCode.ResourceExhausted, "Request body is too large: more than 2 GB");
        }
        var bigger = ArrayPool<byte>.Shared.Rent((int)size);
        pooled.AsSpan(0, length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(pooled);
        return bigger;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_reader is not null)
        {
            _reader.AdvanceTo(_pipeBuffer.End);
        }
        else if (_pooled is { } pooled)
        {
            _pooled = null;
            ArrayPool<byte>.Shared.Return(pooled);
        }
    }
}
