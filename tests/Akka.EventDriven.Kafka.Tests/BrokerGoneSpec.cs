using System.Collections.Concurrent;
using Akka.EventDriven.Kafka.TestKit;
using Akka.Streams;
using Akka.Streams.Dsl;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Akka.EventDriven.Kafka.Tests;

/// <summary>
/// Fault 6, the Kafka brokers gone mid-stream: a committable pipeline (source, processing, batch committer) is
/// consuming when every broker of the mock cluster goes down. Its commit fails, so the pipeline fails (the committer's
/// documented behaviour) instead of hanging or acknowledging what it could not commit; once the brokers are back, a
/// restarted pipeline resumes from the committed offsets and receives exactly the messages after them: nothing after
/// the last commit is lost, nothing before it is read again.
/// </summary>
public sealed class BrokerGoneSpec : Akka.TestKit.Xunit2.TestKit
{
    private readonly ITestOutputHelper _output;

    public BrokerGoneSpec(ITestOutputHelper output) : base(output: output) => _output = output;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_pipeline_whose_brokers_go_away_fails_and_its_restart_resumes_from_the_last_commit_losing_nothing()
    {
        using var cluster = new MockKafkaCluster(brokers: 3);
        var topic = $"gone-{Guid.NewGuid():N}";
        var group = $"g-{Guid.NewGuid():N}";
        cluster.CreateTopic(topic, partitions: 3);
        var materializer = Sys.Materializer();
        await Source.From(Enumerable.Range(0, 1000))
            .Select(i => new ProducerMessage<Null, string, int>(topic, new Message<Null, string> { Value = i.ToString() }, i, Partition: i % 3))
            .RunWith(KafkaProducer.Sink<Null, string, int>(
                KafkaProducerSettings<Null, string>.Create(Sys).WithBootstrapServers(cluster.BootstrapServers)), materializer).WaitAsync(Wait);
        var settings = KafkaConsumerSettings<Null, string>.Create(Sys)
            .WithBootstrapServers(cluster.BootstrapServers)
            .WithGroupId(group)
            .WithProperty("session.timeout.ms", "6000")
            .WithProperty("heartbeat.interval.ms", "500")
            .WithProperty("queued.max.messages.kbytes", "1"); // a small prefetch: the outage is felt at once

        // Run 1: processing is slow enough that the outage lands mid-stream; the brokers go down after 300 messages.
        var firstRun = new ConcurrentQueue<string>();
        var (control, done) = KafkaConsumer.CommittableSource(settings, topic)
            .SelectAsync(1, async m =>
            {
                firstRun.Enqueue(m.Record.Message.Value);
                if (firstRun.Count == 300) cluster.SetBrokersDown(true);
                await Task.Yield();
                return m;
            })
            .ToMaterialized(Committer.Sink<CommittableMessage<Null, string>>(new CommitterSettings(MaxBatch: 50, MaxInterval: TimeSpan.FromMilliseconds(100))), Keep.Both)
            .Run(materializer);
        var started = DateTime.UtcNow;
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => done.WaitAsync(Wait));
        var failedAfter = DateTime.UtcNow - started;
        _output.WriteLine($"run 1 failed after {failedAfter.TotalSeconds:F1} s, {firstRun.Count} processed: {failure.GetType().Name}: {failure.Message}");

        // The brokers come back. The failed pipeline's consumer finishes closing then (librdkafka's close leaves the
        // group, which needs a broker); what is committed now is where the group resumes.
        cluster.SetBrokersDown(false);
        await control.Closed.WaitAsync(Wait);
        var committed = await CommittedAsync(cluster.BootstrapServers, group, topic);
        var expectedRest = Enumerable.Range(0, 1000).Where(i => i / 3 >= committed[i % 3]).Select(i => i.ToString()).ToHashSet();
        Assert.True(committed.Values.Sum() >= 1, "nothing was committed before the outage");
        Assert.True(committed.Values.Sum() <= firstRun.Count, "more was committed than was processed");

        // Run 2: exactly the messages after the committed offsets, then nothing more.
        var secondRun = new ConcurrentQueue<string>();
        var (control2, done2) = KafkaConsumer.CommittableSource(settings.WithProperty("queued.max.messages.kbytes", "65536"), topic)
            .Select(m => { secondRun.Enqueue(m.Record.Message.Value); return m; })
            .ToMaterialized(Committer.Sink<CommittableMessage<Null, string>>(new CommitterSettings(MaxBatch: 100)), Keep.Both)
            .Run(materializer);
        await AwaitConditionAsync(() => Task.FromResult(secondRun.Count >= expectedRest.Count), Wait);
        control2.Stop();
        await done2.WaitAsync(Wait);
        await control2.Closed.WaitAsync(Wait);

        Assert.Equal(expectedRest.Order(), secondRun.Order());                                     // resumed at the commit
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString()).Order(), firstRun.Concat(secondRun).Distinct().Order()); // none lost
        var final = await CommittedAsync(cluster.BootstrapServers, group, topic);
        Assert.Equal(1000, final.Values.Sum());
        _output.WriteLine($"committed before the outage: {committed.Values.Sum()} of {firstRun.Count} processed; run 2 read {secondRun.Count}");
    }

    /// <summary>The group's committed offset per partition (0 where none).</summary>
    private async Task<Dictionary<int, long>> CommittedAsync(string servers, string group, string topic)
    {
        using var consumer = new ConsumerBuilder<Null, string>(new ConsumerConfig { BootstrapServers = servers, GroupId = group }).Build();
        var partitions = Enumerable.Range(0, 3).Select(p => new TopicPartition(topic, p)).ToList();
        Dictionary<int, long> committed = [];
        // The coordinator is found again after the brokers came back: poll until it answers.
        await AwaitAssertAsync(() => committed = consumer.Committed(partitions, TimeSpan.FromSeconds(10))
            .ToDictionary(o => o.Partition.Value, o => o.Offset.Value < 0 ? 0 : o.Offset.Value), Wait, TimeSpan.FromMilliseconds(200));
        return committed;
    }
}
