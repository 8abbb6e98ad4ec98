namespace Akka.EventDriven.Service;

/// <summary>The service's own health check client (<c>--probe &lt;url&gt;</c>), for container runtimes whose image
/// has no curl: one GET, exit code 0 for a 2xx answer within the timeout, 1 for anything else.</summary>
public static class HealthProbe
{
    /// <summary>GETs <paramref name="url"/> and returns the exit code; writes one line saying what it saw.</summary>
    public static async Task<int> RunAsync(string url, TextWriter output, TimeSpan? timeout = null)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            await output.WriteLineAsync($"probe: '{url}' is not an http(s) URL");
            return 1;
        }
        using var http = new HttpClient { Timeout = timeout ?? TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(uri);
            await output.WriteLineAsync($"probe: {uri} -> {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await output.WriteLineAsync($"probe: {uri} -> {e.GetBaseException().Message}");
            return 1;
        }
    }
}
