"""A local GCS for tests: `python -m tests.training.gcs_emulator PORT` serves an in-memory
bucket named `bucket` on 127.0.0.1:PORT until killed.

It is gcp-storage-emulator with its object downloads made to do two things real GCS does
and TensorStore (Orbax's array writer) relies on: name the object's generation in the
`x-goog-generation` header, without which TensorStore rejects the read ("Malformed
StorageGeneration"), and honour `ifGenerationNotMatch` / `ifGenerationMatch`, with which
it revalidates what it cached.
"""

import logging
import sys
from http import HTTPStatus

from gcp_storage_emulator import server
from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects

_download = objects.download


def download(request, response, storage, *args, **kwargs):
  try:
    obj = storage.get_file_obj(request.params['bucket_name'], request.params['object_id'])
  except NotFound:
    return _download(request, response, storage, *args, **kwargs)  # its 404
  generation = str(obj['generation'])
  if request.query.get('ifGenerationNotMatch', [None])[0] == generation:
    response.status = HTTPStatus.NOT_MODIFIED
  elif request.query.get('ifGenerationMatch', [generation])[0] != generation:
    response.status = HTTPStatus.PRECONDITION_FAILED
  else:
    _download(request, response, storage, *args, **kwargs)
  response['x-goog-generation'] = generation
  response['x-goog-metageneration'] = str(obj.get('metageneration', 1))


def main(port: int) -> None:
  objects.download = download  # what `objects.get` calls for ?alt=media
  for _, handlers in server.HANDLERS:  # the routes that name it directly
    for method, handler in list(handlers.items()):
      if handler is _download:
        handlers[method] = download
  logging.getLogger().setLevel(logging.ERROR)
  server.create_server('127.0.0.1', port, in_memory=True, default_bucket='bucket').run()


if __name__ == '__main__':
  main(int(sys.argv[1]))
