using System.Text;
using System.Text.Json;

namespace TensorServe.Tests.Rest;

/// <summary>
/// Structural JSON comparison for tests: object members in any order, arrays in order, numbers compared by their exact
/// token text (so <c>8.0</c> and <c>8</c> differ, as TF Serving's output distinguishes them).
/// </summary>
internal static class JsonAssert
{
    public static void Equivalent(string expected, string actual)
    {
        using var expectedDoc = JsonDocument.Parse(expected);
        using var actualDoc = JsonDocument.Parse(actual);
        var difference = Compare(expectedDoc.RootElement, actualDoc.RootElement, "$");
        Assert.True(difference is null, $"{difference}\nexpected: {expected}\nactual:   {actual}");
    }

    public static void Equivalent(string expected, ReadOnlySpan<byte> actualUtf8) =>
        Equivalent(expected, Encoding.UTF8.GetString(actualUtf8));

    private static string? Compare(JsonElement expected, JsonElement actual, string path)
    {
        if (expected.ValueKind != actual.ValueKind)
        {
            return $"{path}: kind {actual.ValueKind}, expected {expected.ValueKind}";
        }
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var expectedNames = expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
                var actualNames = actual.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
                if (!expectedNames.SequenceEqual(actualNames))
                {
                    return $"{path}: members [{string.Join(",", actualNames)}], expected [{string.Join(",", expectedNames)}]";
                }
                foreach (var name in expectedNames)
                {
                    var difference = Compare(expected.GetProperty(name), actual.GetProperty(name), $"{path}.{name}");
                    if (difference is not null)
                    {
                        return difference;
                    }
                }
                return null;
            case JsonValueKind.Array:
                if (expected.GetArrayLength() != actual.GetArrayLength())
                {
                    return $"{path}: length {actual.GetArrayLength()}, expected {expected.GetArrayLength()}";
                }
                for (var i = 0; i < expected.GetArrayLength(); i++)
                {
                    var difference = Compare(expected[i], actual[i], $"{path}[{i}]");
                    if (difference is not null)
                    {
                        return difference;
                    }
                }
                return null;
            case JsonValueKind.String:
                return expected.GetString() == actual.GetString()
                    ? null
                    : $"{path}: \"{actual.GetString()}\", expected \"{expected.GetString()}\"";
            default:
                return expected.GetRawText() == actual.GetRawText()
                    ? null
                    : $"{path}: {actual.GetRawText()}, expected {expected.GetRawText()}";
        }
    }
}
