#region usings-http
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using Akka.Hosting;
using IntelOps.Domain;
using Microsoft.AspNetCore.Builder;
#endregion
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IntelOps.Tests;

/// <summary>The README's HTTP wiring (region checked against the README by ReadmeSnippetsSpec), verbatim, in an ASP.NET
/// Core app on Kestrel (127.0.0.1, any port) with the sample's Investigation aggregate on a SQLite file of its own.</summary>
public sealed class HttpReadmeSpec
{
    [Fact]
    public async Task The_readme_http_wiring_takes_commands_with_a_key_and_serves_health_and_the_console()
    {
        var file = Path.Combine(Path.GetTempPath(), $"intelops-http-{Guid.NewGuid():N}.db");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();

        #region http-wiring
        builder.Services.AddAkka("intelops", b => b
            .WithEventDriven(o =>
            {
                o.Environment = "test";
                o.Persistence.ConnectionString = $"Data Source={file}";
                o.RegisterTypes(typeof(Investigation).Assembly).AddAggregate(Investigation.Definition);
            })
            .WithEventBus()
            .WithConsoleIndex());          // the console's trace by correlation id and its saga list
        builder.Services.AddEventDrivenHttp(o =>
        {
            // "key:role,..." (read, write, admin), e.g. from Environment.GetEnvironmentVariable("EVENTDRIVEN_API_KEYS")
            o.AddApiKeys("analyst-key-0123456789:read,ops-admin-key-0123456789:admin");
            o.RouteCommands(Investigation.Definition, typeof(StartInvestigation), typeof(AddFinding));
        });
        var app = builder.Build();
        app.MapEventDriven("/api");        // plus /health/live, /health/ready and /metrics
        app.MapEventDrivenDashboard();     // the operations console at /
        #endregion

        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);

            var command = new { type = "investigation.start", aggregateId = "inv-http", payload = new { title = "APT29", analyst = "ana" } };
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/commands", command)).StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/commands") { Content = JsonContent.Create(command) };
            request.Headers.Add("X-Api-Key", "ops-admin-key-0123456789");
            var accepted = await client.SendAsync(request);
            var body = await accepted.Content.ReadAsStringAsync();
            Assert.True(accepted.StatusCode == HttpStatusCode.OK, body);
            using var json = JsonDocument.Parse(body);
            Assert.True(json.RootElement.GetProperty("success").GetBoolean());
            Assert.Equal(1, json.RootElement.GetProperty("data").GetProperty("version").GetInt64());

            var console = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, console.StatusCode);
            Assert.Contains("text/html", console.Content.Headers.ContentType?.ToString());
        }
        finally
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StopAsync(cts.Token);
            await app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var f in new[] { file, file + "-wal", file + "-shm" })
                try { File.Delete(f); } catch (IOException) { }
        }
    }
}
