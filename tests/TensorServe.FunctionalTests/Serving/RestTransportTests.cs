using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TensorServe.FunctionalTests.Serving;

/// <summary>REST transport behaviour (spec §1.1-§1.3): dispatch, non-API targets, preflight, methods, gzip bodies.</summary>
[Collection(ServingCollection.Name)]
public class RestTransportTests(ServingFixture server)
{
    private const string NotFoundHtml =
        "<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\n</BODY></HTML>\n";

    [Theory]
    [InlineData("/")]
    [InlineData("/healthz")]
    [InlineData("/v2/models/half_plus_two")]
    public async Task NonApiTarget_GetsLibeventsHtml404(string path)
    {
        var reply = await server.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("text/html", reply.ContentType);
        Assert.Equal(NotFoundHtml, reply.Body);
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    public async Task OtherMethodsOnApiPaths_AreMalformed(string method)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), "/v1/models/half_plus_two");
        using var response = await server.Rest.SendAsync(request);
        var reply = await RestReply.ReadAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal(RestReply.ErrorBody($"Malformed request: {method} /v1/models/half_plus_two"), reply.Body);
    }

    [Theory]
    [InlineData("/v1/models/half_plus_two:Predict")]
    [InlineData("/v1/models/half_plus_two:predict?foo=1")]
    [InlineData("/v1/models/half_plus_two/versions/1/labels/x:predict")]
    [InlineData("/v1/models/half_plus_two/metadata")]
    public async Task UnmatchedPostTargets_AreMalformedIncludingTheQuery(string path)
    {
        var reply = await server.PostAsync(path, "{\"instances\": [1.0]}");

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal(RestReply.ErrorBody($"Malformed request: POST {path}"), reply.Body);
    }

    [Fact]
    public async Task Preflight_WithHttpOrigin_Is200WithEmptyBody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/v1/models/half_plus_two:predict");
        request.Headers.Add("Origin", "http://example.com");
        using var response = await server.Rest.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        // CORS headers only with --rest_api_enable_cors_support.
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Preflight_WithoutOrigin_Is400WithEmptyBody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/v1/models/half_plus_two:predict");
        using var response = await server.Rest.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GzipBody_IsDecompressed()
    {
        var compressed = Gzip("{\"instances\": [2.0, 3.0, 4.0]}"u8.ToArray());
        using var content = new ByteArrayContent(compressed);
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await server.Rest.PostAsync("/v1/models/half_plus_two:predict", content);
        var reply = await RestReply.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("{\n    \"predictions\": [3.0, 3.5, 4.0\n    ]\n}", reply.Body);
    }

    [Fact]
    public async Task CorruptGzipBody_BecomesAnEmptyDocument()
    {
        using var content = new ByteArrayContent("not gzip at all"u8.ToArray());
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await server.Rest.PostAsync("/v1/models/half_plus_two:predict", content);
        var reply = await RestReply.ReadAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal(RestReply.ErrorBody("JSON Parse error: The document is empty"), reply.Body);
    }

    [Fact]
    public async Task ChunkedBodyInManySmallWrites_IsReadWhole()
    {
        // The body arrives over several TCP writes and pipe segments, exercising the multi-segment path.
        var json = "{\"instances\": [" + string.Join(", ", Enumerable.Range(0, 20000).Select(i => $"{i}.0")) + "]}";
        using var content = new ChunkedContent(Encoding.ASCII.GetBytes(json), chunkSize: 1000);
        using var response = await server.Rest.PostAsync("/v1/models/half_plus_two:predict", content);
        var reply = await RestReply.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.StartsWith("{\n    \"predictions\": [2.0, 2.5, 3.0, 3.5, ", reply.Body);
        Assert.EndsWith("10001.0, 10001.5\n    ]\n}", reply.Body);
        Assert.Equal(reply.Body.Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task RawHttp11_SuccessHasJsonContentTypeAndContentLength()
    {
        // A hand-written HTTP/1.1 exchange, as curl sends it, to see the headers exactly as sent.
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.RestPort);
        await using var stream = client.GetStream();
        var body = "{\"instances\": [2.0, 3.0, 4.0]}";
        var request = $"POST /v1/models/half_plus_two:predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: {body.Length}\r\n" +
                      $"Connection: close\r\n\r\n{body}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var raw = await reader.ReadToEndAsync();

        var expectedBody = "{\n    \"predictions\": [3.0, 3.5, 4.0\n    ]\n}";
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", raw);
        Assert.Contains("\r\nContent-Type: application/json\r\n", raw);
        Assert.Contains($"\r\nContent-Length: {expectedBody.Length}\r\n", raw);
        Assert.EndsWith("\r\n\r\n" + expectedBody, raw);
    }

    [Fact]
    public async Task ConcurrentGoodAndBadRequests_EachGetTheirOwnAnswer()
    {
        var tasks = Enumerable.Range(0, 40).Select(async i =>
        {
            if (i % 2 == 0)
            {
                var value = i;
                var reply = await server.PostAsync("/v1/models/half_plus_two:predict", $"{{\"instances\": [{value}.0]}}");
                Assert.Equal(HttpStatusCode.OK, reply.Status);
                Assert.Equal($"{{\n    \"predictions\": [{0.5 * value + 2:0.0###}\n    ]\n}}", reply.Body);
            }
            else
            {
                var reply = await server.PostAsync("/v1/models/half_plus_two:predict", "{\"instances\": [1.0, \"x\"]}");
                Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
                Assert.Contains("is not of expected type: float", reply.Body);
            }
        });

        await Task.WhenAll(tasks);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    /// <summary>Content with no length, flushed in small pieces, so Kestrel sees chunked transfer encoding.</summary>
    private sealed class ChunkedContent(byte[] data, int chunkSize) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < data.Length; offset += chunkSize)
            {
                await stream.WriteAsync(data.AsMemory(offset, Math.Min(chunkSize, data.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>A server started with <c>--rest_api_enable_cors_support=true</c>.</summary>
public sealed class CorsServingFixture() : IAsyncLifetime
{
    public ServingFixture Server { get; } = new(["--rest_api_enable_cors_support=true"]);

    public Task InitializeAsync() => Server.InitializeAsync();

    public Task DisposeAsync() => Server.DisposeAsync();
}

public class RestCorsTests(CorsServingFixture fixture) : IClassFixture<CorsServingFixture>
{
    [Theory]
    [InlineData("/v1/models/half_plus_two", 200)]
    [InlineData("/v1/models/nope", 404)]
    public async Task EveryApiResponse_CarriesTheCorsHeaders(string path, int status)
    {
        using var response = await fixture.Server.Rest.GetAsync(path);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("POST, GET", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Methods")));
        Assert.Equal("Content-Type", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Headers")));
    }
}
