using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TensorServe.Models;

namespace TensorServe.Rest;

public enum RestRouteKind
{
    Status,
    Metadata,
    Predict,
    Classify,
    Regress,
}

/// <summary>A parsed <c>/v1/models/...</c> request: what to do and for which model, version or label.</summary>
internal readonly record struct RestRoute(RestRouteKind Kind, string ModelName, long? Version, string? Label)
{
    public ModelRequest ToModelRequest() => new(ModelName, Version, Label);
}

/// <summary>
/// TF Serving's REST URL grammar (spec §1.2, <c>http_rest_api_util.cc</c>): two case-insensitive full-match patterns over
/// the raw path plus query, percent-decoding of model name and label, and its exact error texts.
/// </summary>
internal static partial class RestRouteParser
{
    // [0-9] rather than \d: RE2's \d is ASCII-only, .NET's matches every Unicode digit.
    [GeneratedRegex(@"^/v1/models/([^/:]+)(?:(?:/versions/([0-9]+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)\z",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PostPattern();

    [GeneratedRegex(@"^/v1/models(?:/([^/:]+))?(?:(?:/versions/([0-9]+))|(?:/labels/([^/:]+)))?(?:/(metadata))?\z",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex GetPattern();

    [GeneratedRegex(@"^/v1/.*\z", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex ApiPattern();

    /// <summary>True when the REST API dispatcher (<c>(?i)/v1/.*</c>) owns this target; anything else is a libevent 404.</summary>
    public static bool IsApiPath(string pathAndQuery) => ApiPattern().IsMatch(pathAndQuery);

    /// <summary>Parses a GET or POST target. Throws <see cref="ServingException"/> with TF Serving's messages.</summary>
    public static RestRoute Parse(string method, string pathAndQuery)
    {
        if (string.Equals(method, "POST", StringComparison.Ordinal))
        {
            var match = PostPattern().Match(pathAndQuery);
            if (match.Success)
            {
                // The pattern is case-insensitive but the method must be spelled exactly (`:Predict` is malformed).
                var kind = match.Groups[4].Value switch
                {
                    "predict" => RestRouteKind.Predict,
                    "classify" => RestRouteKind.Classify,
                    "regress" => RestRouteKind.Regress,
                    _ => (RestRouteKind?)null,
                };
                if (kind is { } k)
                {
                    return Build(k, match);
                }
            }
        }
        else if (string.Equals(method, "GET", StringComparison.Ordinal))
        {
            var match = GetPattern().Match(pathAndQuery);
            if (match.Success)
            {
                if (!match.Groups[1].Success || match.Groups[1].Length == 0)
                {
                    throw ServingException.InvalidArgument("Missing model name in request.");
                }
                // `/METADATA` matches the pattern but is not `metadata`, so TF Serving serves it as a status request.
                var kind = match.Groups[4].Value == "metadata" ? RestRouteKind.Metadata : RestRouteKind.Status;
                return Build(kind, match);
            }
        }
        throw ServingException.InvalidArgument($"Malformed request: {method} {pathAndQuery}");
    }

    private static RestRoute Build(RestRouteKind kind, Match match)
    {
        var name = PercentDecode(match.Groups[1].Value);
        long? version = null;
        if (match.Groups[2].Success)
        {
            var text = match.Groups[2].Value;
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            {
                throw ServingException.InvalidArgument($"Failed to convert version: {text} to numeric.");
            }
            version = v;
        }
        var label = match.Groups[3].Success ? PercentDecode(match.Groups[3].Value) : null;
        return new RestRoute(kind, name, version, label);
    }

    /// <summary>
    /// <c>curl_easy_unescape</c>: <c>%XX</c> with two hex digits becomes that byte, anything else (including <c>+</c> and a
    /// stray <c>%</c>) is kept; the bytes are read as UTF-8.
    /// </summary>
    public static string PercentDecode(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }
        var bytes = Encoding.UTF8.GetBytes(value);
        var length = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'%' && i + 2 < bytes.Length &&
                IsHex(bytes[i + 1]) && IsHex(bytes[i + 2]))
            {
                bytes[length++] = (byte)((HexValue(bytes[i + 1]) << 4) | HexValue(bytes[i + 2]));
                i += 2;
            }
            else
            {
                bytes[length++] = bytes[i];
            }
        }
        return Encoding.UTF8.GetString(bytes, 0, length);
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
