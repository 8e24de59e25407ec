// Lucene MoreLikeThis over an Anserini index: the peer of opendi's precomputed similar lists
// in bench/eval.py. Compiled with javac against the Anserini fat jar (Lucene 9).
//
// Usage: java -cp anserini-fatjar.jar:CLASSES SimilarMLT INDEX SAMPLE_IDS OUT K THREADS
//
// Computes the top-K MoreLikeThis neighbours of every document of INDEX (the timed part:
// what "similar lists for all records" costs), writes those of the ids listed in SAMPLE_IDS
// to OUT as "id<TAB>neighbour<TAB>rank" lines, and prints {"seconds": ..., "documents": ...}.

import io.anserini.analysis.DefaultEnglishAnalyzer;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.queries.mlt.MoreLikeThis;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.FSDirectory;

public class SimilarMLT {
  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: SimilarMLT INDEX SAMPLE_IDS OUT K THREADS");
      System.exit(2);
    }
    IndexReader reader = DirectoryReader.open(FSDirectory.open(Paths.get(args[0])));
    Set<String> sample = new HashSet<>(Files.readAllLines(Paths.get(args[1])));
    int k = Integer.parseInt(args[3]);
    int threads = Integer.parseInt(args[4]);
    IndexSearcher searcher = new IndexSearcher(reader);
    // Anserini's BM25 defaults, as its searches use.
    searcher.setSimilarity(new BM25Similarity(0.9f, 0.4f));
    String[] ids = new String[reader.maxDoc()];
    for (int d = 0; d < reader.maxDoc(); d++) {
      ids[d] = reader.storedFields().document(d).get("id");
    }
    ConcurrentHashMap<String, List<String>> out = new ConcurrentHashMap<>();
    long start = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<?>> parts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      final int part = t;
      parts.add(pool.submit(() -> {
        // One MoreLikeThis per thread: it is configured state, not meant to be shared.
        MoreLikeThis mlt = new MoreLikeThis(reader);
        mlt.setFieldNames(new String[] {"contents"});
        mlt.setAnalyzer(DefaultEnglishAnalyzer.newDefaultInstance());
        // Abstracts are short: the default minimum term frequency of 2 would leave most
        // documents with almost no query terms.
        mlt.setMinTermFreq(1);
        mlt.setMinDocFreq(2);
        mlt.setMaxQueryTerms(25);
        for (int d = part; d < reader.maxDoc(); d += threads) {
          Query q = mlt.like(d);
          TopDocs top = searcher.search(q, k + 1);
          List<String> list = new ArrayList<>();
          for (ScoreDoc sd : top.scoreDocs) {
            if (sd.doc != d && list.size() < k) {
              list.add(ids[sd.doc]);
            }
          }
          if (sample.contains(ids[d])) {
            out.put(ids[d], list);
          }
        }
        return null;
      }));
    }
    for (Future<?> f : parts) {
      f.get();
    }
    pool.shutdown();
    double seconds = (System.nanoTime() - start) / 1e9;
    try (BufferedWriter w = Files.newBufferedWriter(Paths.get(args[2]), StandardCharsets.UTF_8)) {
      for (var e : out.entrySet()) {
        int rank = 0;
        for (String n : e.getValue()) {
          w.write(e.getKey() + "\t" + n + "\t" + (rank++) + "\n");
        }
      }
    }
    System.out.println(
        "{\"seconds\": " + seconds + ", \"documents\": " + reader.maxDoc() + "}");
  }
}
