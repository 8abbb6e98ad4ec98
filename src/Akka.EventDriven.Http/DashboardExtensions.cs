using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.EventDriven.Http;

/// <summary>Maps the operations console: one HTML page with an ES module and a style sheet, embedded in this assembly
/// (no build step, nothing fetched from the internet).</summary>
public static class DashboardExtensions
{
    private static readonly Assembly Assembly = typeof(DashboardExtensions).Assembly;

    private static readonly Dictionary<string, string> Files = new(StringComparer.Ordinal)
    {
        ["app.js"] = "text/javascript; charset=utf-8",
        ["style.css"] = "text/css; charset=utf-8",
    };

    // The page runs only its own script and talks only to its own origin; nothing may frame it.
    private const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
                               "base-uri 'none'; frame-ancestors 'none'";

    /// <summary>
    /// Serves the console at <paramref name="path"/> (default <c>/</c>) and its assets under <c>{path}dashboard/</c>. The
    /// page reads the API mapped by <see cref="EventDrivenHttpExtensions.MapEventDriven"/> under <paramref name="apiPrefix"/>
    /// (default <c>/api</c>): the <c>/live</c> feed and the REST endpoints. The page and its assets hold no data and need
    /// no key; outside Development the page asks for an API key, keeps it in the tab's session storage and sends it in the
    /// <c>X-Api-Key</c> header (never in a URL); a read key sees no admin buttons.
    /// <code>
    /// app.MapEventDriven("/api");
    /// app.MapEventDrivenDashboard();
    /// </code>
    /// </summary>
    public static IEndpointRouteBuilder MapEventDrivenDashboard(this IEndpointRouteBuilder app, string path = "/", string apiPrefix = "/api")
    {
        ArgumentNullException.ThrowIfNull(app);
        if (string.IsNullOrEmpty(path) || path[0] != '/') throw new ArgumentException("The console's path must start with '/'.", nameof(path));
        if (string.IsNullOrEmpty(apiPrefix) || apiPrefix[0] != '/') throw new ArgumentException("The API prefix must start with '/'.", nameof(apiPrefix));
        var basePath = path.EndsWith('/') ? path : path + "/";
        var page = Read("index.html")
            .Replace("{{BASE}}", System.Net.WebUtility.HtmlEncode(basePath), StringComparison.Ordinal)
            .Replace("{{API}}", System.Net.WebUtility.HtmlEncode(apiPrefix.TrimEnd('/')), StringComparison.Ordinal);
        var assets = Files.ToDictionary(f => f.Key, f => (Body: Read(f.Key), Type: f.Value));

        app.MapGet(path, (HttpContext context) =>
        {
            Secure(context);
            return Results.Text(page, "text/html; charset=utf-8");
        }).ExcludeFromDescription();
        app.MapGet(basePath + "dashboard/{file}", (string file, HttpContext context) =>
        {
            if (!assets.TryGetValue(file, out var asset)) return Results.NotFound();
            Secure(context);
            return Results.Text(asset.Body, asset.Type);
        }).ExcludeFromDescription();
        return app;
    }

    private static void Secure(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = Csp;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
    }

    private static string Read(string name)
    {
        using var stream = Assembly.GetManifestResourceStream("Akka.EventDriven.Http.Dashboard." + name)
                           ?? throw new InvalidOperationException($"The console's resource '{name}' is missing from {Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
