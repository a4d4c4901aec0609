using System.Buffers;
using System.Text;

namespace TensorServe.Tests.Rest;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> that hands out spans of exactly the requested size (fresh each time, filled with
/// junk), so a writer that asks for too little room, or writes past what it advanced, fails or corrupts visibly.
/// </summary>
internal sealed class StrictBufferWriter : IBufferWriter<byte>
{
    private readonly List<byte> _written = [];
    private byte[] _current = [];

    public int GetSpanCalls { get; private set; }

    public byte[] WrittenBytes => [.. _written];

    public string WrittenText => Encoding.UTF8.GetString(WrittenBytes);

    public void Advance(int count)
    {
        if (count < 0 || count > _current.Length)
        {
            throw new InvalidOperationException($"Advance({count}) past the {_current.Length}-byte span.");
        }
        _written.AddRange(_current.AsSpan(0, count));
        _current = [];
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        GetSpanCalls++;
        _current = new byte[Math.Max(sizeHint, 1)];
        _current.AsSpan().Fill((byte)'#');
        return _current;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
