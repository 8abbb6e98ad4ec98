namespace Akka.EventDriven.Service.Tests;

/// <summary>The service refuses to start on bad configuration, with a message naming the variable.</summary>
public sealed class ServiceStartupSpec : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("eventdriven-service-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("test")]
    [InlineData("production")]
    public async Task Outside_development_without_an_API_key_the_process_exits_non_zero_naming_EVENTDRIVEN_API_KEYS(string environment)
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["AKKA_ENV"] = environment,
            ["PORT"] = TestWait.FreePort().ToString(),
            ["HTTP_HOST"] = "127.0.0.1",
        }, _directory);
        var exit = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotNull(exit);
        Assert.NotEqual(0, exit);
        Assert.Contains("EVENTDRIVEN_API_KEYS", service.Output);
    }

    [Fact]
    public async Task A_module_that_cannot_be_found_stops_the_start_naming_EVENTDRIVEN_MODULES()
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["PORT"] = TestWait.FreePort().ToString(),
            ["HTTP_HOST"] = "127.0.0.1",
            ["EVENTDRIVEN_MODULES"] = "./no-such-module.dll",
        }, _directory);
        var exit = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, exit);
        Assert.Contains("EVENTDRIVEN_MODULES", service.Output);
        Assert.Contains("no-such-module.dll", service.Output);
    }

    [Fact]
    public async Task With_no_module_and_no_database_it_is_a_bus_service_on_an_SQLite_file_under_data_that_stops_on_SIGTERM()
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["SERVICE_NAME"] = "bus-only",
            ["PORT"] = TestWait.FreePort().ToString(),
            ["HTTP_HOST"] = "127.0.0.1",
        }, _directory);
        await TestWait.UntilAsync(async () =>
        {
            Assert.False(service.Process.HasExited, service.Output);
            using var ready = await service.Http.GetAsync("/health/ready");
            Assert.Equal(200, (int)ready.StatusCode);
        }, TimeSpan.FromSeconds(120));
        Assert.True(File.Exists(Path.Combine(_directory, "data", "bus-only.db")), service.Output);
        var topics = await service.GetJsonAsync("/api/topics");
        Assert.Empty(topics.GetProperty("topics").EnumerateArray()); // nothing published yet
        // No module: no command type is known, and the API says so instead of failing.
        var (status, body) = await service.PostJsonAsync("/api/commands", new { type = "ledger.deposit", payload = new { amount = 1 } });
        Assert.True(status == 400, $"{status} {body}");

        service.Terminate();
        var exit = await service.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.True(exit == 0, $"exit {exit?.ToString() ?? "none within 10 s"}\n{service.Output}");
    }
}
