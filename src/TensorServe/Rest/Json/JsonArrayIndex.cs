using System.Buffers;

namespace TensorServe.Rest.Json;

/// <summary>
/// Element counts of every array inside one JSON value, keyed by the array's '[' offset. TF Serving checks a list's
/// size before it looks at the list's elements (and takes shapes from <c>val[0]</c> chains), which a forward-only reader
/// cannot know; one extra pass records the sizes so the converting pass can check them in TF's order. Pooled storage:
/// dispose to return it.
/// </summary>
internal sealed class JsonArrayIndex : IDisposable
{
    private Entry[] _entries;
    private int _length;
    private int _hint;

    private JsonArrayIndex(Entry[] entries) => _entries = entries;

    /// <summary>Indexes the (already validated) value starting at <paramref name="start"/>.</summary>
    public static JsonArrayIndex Build(ReadOnlySpan<byte> json, int start)
    {
        var index = new JsonArrayIndex(ArrayPool<Entry>.Shared.Rent(16));
        var open = ArrayPool<int>.Shared.Rent(64); // entry of each open array, -1 for an open object
        var depth = 0;
        var reader = new JsonTokenizer(json, start);
        try
        {
            while (reader.Read())
            {
                var type = reader.TokenType;
                if (type is JsonTokenType.EndArray or JsonTokenType.EndObject)
                {
                    depth--;
                    continue;
                }
                if (type == JsonTokenType.PropertyName)
                {
                    continue;
                }
                if (depth > 0 && open[depth - 1] >= 0)
                {
                    ref var parent = ref index._entries[open[depth - 1]];
                    if (parent.Count == 0)
                    {
                        parent.FirstIsArray = type == JsonTokenType.StartArray;
                    }
                    parent.Count++;
                }
                if (type is JsonTokenType.StartArray or JsonTokenType.StartObject)
                {
                    if (depth == open.Length)
                    {
                        var bigger = ArrayPool<int>.Shared.Rent(open.Length * 2);
                        open.CopyTo(bigger, 0);
                        ArrayPool<int>.Shared.Return(open);
                        open = bigger;
                    }
                    open[depth++] = type == JsonTokenType.StartArray ? index.Add(reader.TokenStart) : -1;
                }
            }
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
        finally
        {
            reader.Dispose();
            ArrayPool<int>.Shared.Return(open);
        }
    }

    /// <summary>The entry of the array whose '[' is at <paramref name="offset"/>.</summary>
    public int Find(int offset)
    {
        // The converting pass mostly visits arrays in document order, so try the next entry first.
        if (_hint + 1 < _length && _entries[_hint + 1].Offset == offset)
        {
            return ++_hint;
        }
        if (_hint < _length && _entries[_hint].Offset == offset)
        {
            return _hint;
        }
        int lo = 0, hi = _length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var value = _entries[mid].Offset;
            if (value == offset)
            {
                _hint = mid;
                return mid;
            }
            if (value < offset)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        throw new InvalidOperationException($"No array starts at offset {offset}.");
    }

    public int Count(int entry) => _entries[entry].Count;

    /// <summary>Whether element 0 of the array is itself an array (then it is entry <c>entry + 1</c>).</summary>
    public bool FirstIsArray(int entry) => _entries[entry].FirstIsArray;

    public void Dispose()
    {
        if (_entries.Length > 0)
        {
            ArrayPool<Entry>.Shared.Return(_entries);
            _entries = [];
            _length = 0;
        }
    }

    private int Add(int offset)
    {
        if (_length == _entries.Length)
        {
            var bigger = ArrayPool<Entry>.Shared.Rent(_entries.Length * 2);
            _entries.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<Entry>.Shared.Return(_entries);
            _entries = bigger;
        }
        _entries[_length] = new Entry { Offset = offset };
        return _length++;
    }

    internal struct Entry
    {
        public int Offset;
        public int Count;
        public bool FirstIsArray;
    }
}
